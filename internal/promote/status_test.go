package promote

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// brokenRegistry answers every tag lookup with an error that is not "not
// found" (a registry that is down or refuses the credentials).
type brokenRegistry struct{ OCIRegistry }

func (brokenRegistry) Resolve(context.Context, string, string) (string, error) {
	return "", errors.New("GET https://registry.example/v2/: 503 Service Unavailable")
}

func statusOf(t *testing.T, all []EnvStatus, env string) EnvStatus {
	t.Helper()
	for _, e := range all {
		if e.Environment == env {
			return e
		}
	}
	t.Fatalf("no status for %s in %+v", env, all)
	return EnvStatus{}
}

// TestStatusRegistryError: a registry that cannot be read is an error in
// the status, never "in sync".
func TestStatusRegistryError(t *testing.T) {
	t.Parallel()
	f := newFixture(t, startRegistry(t))
	d := f.good("1.0.0")
	f.commitEnvs("dev", map[string]string{"dev": d})
	all, err := f.promoter(WithRegistry(brokenRegistry{})).Status(f.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, env := range []string{"dev", "prod"} { // prod: no desired state, no tag readable
		es := statusOf(t, all, env)
		if es.InSync {
			t.Errorf("%s: in sync with an unreadable registry: %+v", env, es)
		}
		if es.Sync != SyncError || !strings.Contains(es.RegistryError, "503") {
			t.Errorf("%s: sync %q, registry error %q; want %q and the registry's answer", env, es.Sync, es.RegistryError, SyncError)
		}
	}
}

// commitEnvsAt is commitEnvs with the commit dated date.
func (f *fixture) commitEnvsAt(date, msg string, envs map[string]string) string {
	f.t.Helper()
	f.gitEnv = []string{"GIT_COMMITTER_DATE=" + date, "GIT_AUTHOR_DATE=" + date}
	defer func() { f.gitEnv = nil }()
	return f.commitEnvs(msg, envs)
}

// TestStatusPromotedAt: without deployments, PROMOTED is the commit that
// changed that environment's line, not a later commit that touched the
// same digest on another environment's line.
func TestStatusPromotedAt(t *testing.T) {
	t.Parallel()
	f := newFixture(t, startRegistry(t))
	d, d2 := f.good("1.0.0"), f.good("1.1.0")
	f.commitEnvsAt("2026-01-01T10:00:00Z", "dev", map[string]string{"dev": d})
	staging := f.commitEnvsAt("2026-01-02T10:00:00Z", "staging", map[string]string{"dev": d, "staging": d})
	f.commitEnvsAt("2026-01-03T10:00:00Z", "dev d2", map[string]string{"dev": d2, "staging": d})
	all, err := f.promoter().Status(f.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	es := statusOf(t, all, "staging")
	if !strings.HasPrefix(es.PromotedAt, "2026-01-02T10:00:00") || es.Source != "commit "+short(staging) {
		t.Errorf("staging promoted %q (%s), want 2026-01-02T10:00:00 from commit %s", es.PromotedAt, es.Source, short(staging))
	}
}

// TestStatusReconcile: status says what apply would do about an
// environment out of sync, and never that apply fixes a refused or
// superseded state.
func TestStatusReconcile(t *testing.T) {
	t.Parallel()
	f := newFixture(t, startRegistry(t))
	good, unsigned := f.good("1.0.0"), f.push("1.1.0")
	f.commitEnvs("dev", map[string]string{"dev": good})
	p := f.promoter()
	if _, err := p.Apply(f.ctx, "", ""); err != nil {
		t.Fatal(err)
	}
	old := f.commitEnvs("dev unsigned", map[string]string{"dev": unsigned})
	if _, err := p.Apply(f.ctx, "", ""); err == nil {
		t.Fatal("apply of an unsigned digest passed")
	}
	all, err := p.Status(f.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	es := statusOf(t, all, "dev")
	if es.InSync || !strings.Contains(es.Reconcile, "refuses") || !strings.Contains(es.Reconcile, RuleSignature) {
		t.Errorf("dev after a refused apply: in sync %t, reconcile %q; want out of sync and why apply refuses", es.InSync, es.Reconcile)
	}

	// An older commit's state, superseded by a newer one on main.
	f.commitEnvs("dev back", map[string]string{"dev": good})
	all, err = p.Status(f.ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	if es := statusOf(t, all, "dev"); !strings.Contains(es.Reconcile, "superseded") {
		t.Errorf("dev at an old commit: reconcile %q, want superseded", es.Reconcile)
	}
	f.setTag("dev", unsigned) // moved by hand
	all, err = p.Status(f.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if es := statusOf(t, all, "dev"); !strings.Contains(es.Reconcile, "mlship promote apply --head") {
		t.Errorf("dev moved by hand: reconcile %q, want the apply to re-run", es.Reconcile)
	}
}
