package attest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// Predicate types mlship writes and knows by short name.
const (
	// EvalType is mlship's evaluation result predicate (an EvalResult).
	EvalType = "https://mlship.dev/attestations/eval/v1"
	// ProvenanceType is SLSA provenance v1.
	ProvenanceType = "https://slsa.dev/provenance/v1"
	// PromotionType is reserved for the promotion record predicate.
	PromotionType = "https://mlship.dev/attestations/promotion/v1"
	// BuildType is the SLSA buildType of an mlship training run.
	BuildType = "https://mlship.dev/buildtypes/train/v1"
	// StatementType is the in-toto v1 statement type.
	StatementType = "https://in-toto.io/Statement/v1"
)

// PredicateType maps a short name (eval, provenance, slsaprovenance1,
// slsa, promotion) to its URI; anything else is returned unchanged (a URI).
func PredicateType(short string) string {
	switch short {
	case "eval":
		return EvalType
	case "provenance", "slsaprovenance1", "slsa":
		return ProvenanceType
	case "promotion":
		return PromotionType
	}
	return short
}

// ShortName is the inverse of PredicateType for the known types: what
// messages call an attestation ("eval", "provenance").
func ShortName(uri string) string {
	switch uri {
	case EvalType:
		return "eval"
	case ProvenanceType:
		return "provenance"
	case PromotionType:
		return "promotion"
	}
	return uri
}

// Statement is an in-toto v1 statement.
type Statement struct {
	Type          string          `json:"_type"`
	Subject       []Subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

// Subject is one artifact an in-toto statement is about.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// Envelope is a DSSE envelope as cosign stores an attestation's payload.
type Envelope struct {
	PayloadType string `json:"payloadType"`
	// Payload is the base64 (standard encoding) of the statement.
	Payload string `json:"payload"`
}

// DecodeEnvelope reads the in-toto statement out of a DSSE envelope (an
// attestation's payload as stored in the registry). It checks the shape
// only: the signature is verified by internal/sign, and a caller that
// trusts the statement must have verified it first.
func DecodeEnvelope(b []byte) (Statement, error) {
	var env Envelope
	if err := json.Unmarshal(b, &env); err != nil {
		return Statement{}, fmt.Errorf("attestation is not a DSSE envelope: %w", err)
	}
	raw, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return Statement{}, fmt.Errorf("attestation payload is not base64: %w", err)
	}
	return DecodeStatement(raw)
}

// DecodeStatement reads an in-toto statement (the DSSE payload).
func DecodeStatement(raw []byte) (Statement, error) {
	var st Statement
	if err := json.Unmarshal(raw, &st); err != nil {
		return Statement{}, fmt.Errorf("attestation payload is not an in-toto statement: %w", err)
	}
	return st, nil
}
