//! Sentence embeddings with a transformer encoder on the float reference: tokenization
//! (`tokenize`), the encoder's input and pooling conventions (`embed`, `pool`), the bundled
//! sentence set (`dataset`) and the paraphrase-retrieval benchmark (`retrieval`).

pub mod dataset;
pub mod embed;
pub mod pool;
pub mod quantize;
pub mod retrieval;
pub mod tokenize;
