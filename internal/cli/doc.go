// Package cli holds mlship's cobra commands, one file per command. Each
// command has an options struct and a run function that tests call
// directly; flag parsing is all a command does before handing over to the
// step packages (spec, oci, sign, train, ...).
package cli
