package testenv

import "time"

// Option configures StartRegistry.
type Option func(*registryOptions)

type registryOptions struct {
	storageDir   string
	logLevel     string
	readOnly     bool
	startTimeout time.Duration
	logAlways    bool
	pickPort     func() (int, error) // freePort; tests replace it to force a port race
}

func defaultRegistryOptions() registryOptions {
	return registryOptions{logLevel: "info", startTimeout: 30 * time.Second, pickPort: freePort}
}

// WithStorageDir stores the registry's data in dir instead of a fresh
// t.TempDir(): to inspect or tamper with blobs on disk (see BlobPath), or to
// restart a registry on the same data.
func WithStorageDir(dir string) Option {
	return func(o *registryOptions) { o.storageDir = dir }
}

// WithLogLevel sets the registry's log level (error, warn, info, debug).
func WithLogLevel(level string) Option {
	return func(o *registryOptions) { o.logLevel = level }
}

// WithReadOnly starts the registry in read-only (maintenance) mode: pulls
// work, pushes and deletes are refused, as during a registry outage.
func WithReadOnly() Option {
	return func(o *registryOptions) { o.readOnly = true }
}

// WithStartTimeout bounds how long StartRegistry waits for GET /v2/ to answer
// (30 s by default).
func WithStartTimeout(d time.Duration) Option {
	return func(o *registryOptions) { o.startTimeout = d }
}

// WithLogs writes the registry's log into the test log even when the test
// passes (by default it is shown only when the test fails).
func WithLogs() Option {
	return func(o *registryOptions) { o.logAlways = true }
}
