// Package card owns the model card: MODEL_CARD.md, the doc layer that
// package writes at the root of every model it packages from a spec. Its
// YAML front matter follows Hugging Face's model card metadata (license,
// datasets, metrics, model-index with the eval results) so that the Hub
// and other tools read it, plus an "mlship" block with the lineage that
// diff compares; the Markdown below it is for people. Generate writes a
// card, Parse reads one (the one parser of the format).
package card
