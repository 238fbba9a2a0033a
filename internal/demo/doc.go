// Package demo runs the whole mlship loop on embedded defaults, for a
// newcomer with only Go: the iris example is validated, trained, evaluated
// against a baseline, checked for drift, packaged and pushed to an
// in-process OCI registry, signed and attested with an ephemeral key,
// reported, promoted dev → staging → prod through git commits, and pulled
// back with verification. It uses the same packages as the actions; only
// GitHub is replaced, by a local record of pull requests and deployments.
package demo
