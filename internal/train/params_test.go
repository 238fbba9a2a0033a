package train

import (
	"errors"
	"strings"
	"testing"
)

func TestEffectiveParamsRefusesUndeclared(t *testing.T) {
	t.Parallel()
	declared := map[string]any{"learning_rate": 0.1, "epochs": 3}
	tests := []struct {
		name      string
		overrides map[string]any
		wantErr   string
	}{
		{"declared", map[string]any{"epochs": 5}, ""},
		{"undeclared", map[string]any{"epochz": 5}, `parameter "epochz" is not a declared hyperparameter (declared: epochs, learning_rate)`},
		{"case variant", map[string]any{"Epochs": 5}, `parameter "Epochs" is not a declared hyperparameter`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := EffectiveParams(declared, tt.overrides)
			if tt.wantErr == "" {
				if err != nil || got["epochs"] != int64(5) {
					t.Fatalf("got %v, %v", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
			}
			if !errors.Is(err, ErrUndeclaredParam) {
				t.Errorf("error %v is not ErrUndeclaredParam", err)
			}
		})
	}
	if _, err := EffectiveParams(nil, map[string]any{"lr": 1}); err == nil || !strings.Contains(err.Error(), "declares no hyperparameters") {
		t.Errorf("no declared hyperparameters: error %v", err)
	}
}
