//! `systole embed`: sentence embeddings from a transformer encoder on the float reference, and
//! the paraphrase-retrieval benchmark when the sentences come with pairs.

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;
use systole_compiler::frontend::load_model;
use systole_compiler::npy::write_npy;
use systole_compiler::sysq::SysqFile;
use systole_compiler::Tensor;
use systole_flow::text::dataset::SentenceSet;
use systole_flow::text::embed::Encoder;
use systole_flow::text::pool::cosine;
use systole_flow::text::quantize::{program_seq, run_encoder_program};
use systole_flow::text::retrieval::{retrieval, Retrieval};
use systole_flow::text::tokenize::Tokenizer;

use super::io::print_json;
use super::Failure;

/// Mean-pooled sentence embeddings of an encoder (e.g. MiniLM) on the float reference.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  systole embed .cache/minilm/model.onnx --tokenizer .cache/minilm/tokenizer.json --text \"A cat sat on the mat.\"\n  systole embed .cache/minilm/model.onnx --tokenizer .cache/minilm/tokenizer.json --sentences models/text/sentences.tsv --split eval --json"
)]
pub struct Args {
    /// ONNX encoder with inputs input_ids and attention_mask (int64 [batch, sequence]).
    pub model: PathBuf,
    /// Hugging Face tokenizer.json matching the model's vocabulary.
    #[arg(long)]
    pub tokenizer: PathBuf,
    /// One sentence to embed (repeatable).
    #[arg(long, required_unless_present = "sentences")]
    pub text: Vec<String>,
    /// Sentences: a TSV set (id, split, pair, text; docs/transformers.md) or one per line.
    #[arg(long, conflicts_with = "text")]
    pub sentences: Option<PathBuf>,
    /// Which split of a TSV set: calib, eval or all.
    #[arg(long, default_value = "all", value_parser = ["calib", "eval", "all"])]
    pub split: String,
    /// Pad every sentence to N tokens (default: the longest sentence). A longer sentence is an
    /// error, and so is N beyond the model's position table.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub seq: Option<u32>,
    /// Sentences per run of the model.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub batch: u32,
    /// Write the embeddings as f32 [sentences, hidden] .npy (atomically).
    #[arg(short = 'o', long = "output", value_name = "OUT.npy")]
    pub output: Option<PathBuf>,
    /// Also write the padded token ids and attention mask as PREFIX_ids.npy and PREFIX_mask.npy
    /// (int64 [sentences, seq]): what an oracle such as onnxruntime needs to run the same input.
    #[arg(long, value_name = "PREFIX")]
    pub tokens_out: Option<PathBuf>,
    /// Also run this quantized encoder (`systole quantize --calib-sentences`) on the integer
    /// reference and compare its embeddings with the float ones (cosine per sentence; retrieval
    /// on both). Sentences are padded to the program's sequence length.
    #[arg(long, value_name = "FILE.sysq")]
    pub sysq: Option<PathBuf>,
    /// Print JSON: sentences, hidden, seq, tokens, vocab, max_positions, pooling,
    /// pooling_max_abs_diff, seconds, seconds_per_sentence, output, retrieval (or null),
    /// quantized (or null: sysq, mean_cosine, min_cosine, retrieval, seconds,
    /// seconds_per_sentence).
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct QuantReport {
    sysq: String,
    mean_cosine: f64,
    min_cosine: f64,
    retrieval: Option<Retrieval>,
    seconds: f64,
    seconds_per_sentence: f64,
}

#[derive(Serialize)]
struct Report {
    sentences: usize,
    hidden: usize,
    seq: usize,
    tokens: usize,
    vocab: Option<usize>,
    max_positions: Option<usize>,
    pooling: &'static str,
    pooling_max_abs_diff: Option<f64>,
    seconds: f64,
    seconds_per_sentence: f64,
    total_seconds: f64,
    output: Option<String>,
    retrieval: Option<Retrieval>,
    quantized: Option<QuantReport>,
}

pub fn main(a: Args) -> Result<i32, Failure> {
    let t_all = Instant::now();
    let token_file = |suffix: &str| {
        a.tokens_out.as_ref().map(|prefix| {
            let mut s = prefix.clone().into_os_string();
            s.push(suffix);
            PathBuf::from(s)
        })
    };
    let (ids_out, mask_out) = (token_file("_ids.npy"), token_file("_mask.npy"));
    super::io::refuse_output_over_input(
        &[
            ("-o", a.output.as_deref()),
            ("--tokens-out", ids_out.as_deref()),
            ("--tokens-out", mask_out.as_deref()),
        ],
        &[
            ("MODEL", Some(&a.model)),
            ("--tokenizer", Some(&a.tokenizer)),
            ("--sentences", a.sentences.as_deref()),
            ("--sysq", a.sysq.as_deref()),
        ],
    )?;
    let (texts, pairs) = match &a.sentences {
        Some(p) => {
            let set = SentenceSet::read(p)?.split(&a.split);
            if set.sentences.is_empty() {
                return Err(Failure::usage(format!(
                    "{}: no sentences in split '{}'",
                    p.display(),
                    a.split
                )));
            }
            (set.texts(), set.pairs())
        }
        None => (a.text.clone(), vec![]),
    };
    if texts.iter().any(|t| t.trim().is_empty()) {
        return Err(Failure::usage("--text: a sentence is empty"));
    }
    let tok = Tokenizer::from_file(&a.tokenizer)?;
    let mut enc = Encoder::new(load_model(&a.model)?)?;
    let program = match &a.sysq {
        Some(path) => {
            let f = SysqFile::read(path)?;
            let seq = program_seq(&f.program)
                .map_err(|e| Failure::at(format_args!("--sysq {}", path.display()), e))?;
            if a.seq.is_some_and(|s| s as usize != seq) {
                return Err(Failure::usage(format!(
                    "--seq {} differs from the sequence length {seq} that --sysq {} was built for",
                    a.seq.unwrap_or(0),
                    path.display()
                )));
            }
            Some((path.clone(), f.program, seq))
        }
        None => None,
    };
    let want_seq = a
        .seq
        .map(|s| s as usize)
        .or(program.as_ref().map(|(_, _, s)| *s));
    // One padded length for all batches, so every batch runs the same bound graph.
    let all = tok.encode(&texts, want_seq)?;
    enc.check(&all)?;
    if let Some(prefix) = &a.tokens_out {
        let shape = vec![all.len(), all.seq];
        let file = |suffix: &str| {
            let mut s = prefix.clone().into_os_string();
            s.push(suffix);
            PathBuf::from(s)
        };
        write_npy(
            &file("_ids.npy"),
            &Tensor::i64(shape.clone(), all.ids.clone()),
        )?;
        write_npy(&file("_mask.npy"), &Tensor::i64(shape, all.mask.clone()))?;
    }
    let seq = all.seq;
    let mut vectors = Vec::with_capacity(texts.len());
    let mut qvectors = Vec::new();
    let mut qseconds = 0.0;
    let mut pool_diff: Option<f64> = None;
    let mut seconds = 0.0;
    for chunk in texts.chunks(a.batch as usize) {
        let b = tok.encode(chunk, Some(seq))?;
        if let Some((_, p, _)) = &program {
            let t = Instant::now();
            qvectors.extend(run_encoder_program(p, &b)?);
            qseconds += t.elapsed().as_secs_f64();
        }
        let r = enc.run(&b)?;
        seconds += r.seconds;
        if let Some(mp) = &r.model_pooled {
            let d = mp
                .iter()
                .flatten()
                .zip(r.vectors.iter().flatten())
                .map(|(x, y)| (x - y).abs() as f64)
                .fold(0.0, f64::max);
            pool_diff = Some(pool_diff.unwrap_or(0.0).max(d));
        }
        vectors.extend(r.vectors);
    }
    let hidden = vectors.first().map_or(0, Vec::len);
    if let Some(out) = &a.output {
        let flat: Vec<f32> = vectors.iter().flatten().copied().collect();
        write_npy(out, &Tensor::f32(vec![vectors.len(), hidden], flat))?;
    }
    let report = Report {
        sentences: vectors.len(),
        hidden,
        seq,
        tokens: all.lengths.iter().sum(),
        vocab: enc.vocab,
        max_positions: enc.max_positions,
        pooling: "mean",
        pooling_max_abs_diff: pool_diff,
        seconds,
        seconds_per_sentence: seconds / vectors.len().max(1) as f64,
        total_seconds: t_all.elapsed().as_secs_f64(),
        output: a.output.as_ref().map(|p| p.display().to_string()),
        retrieval: (!pairs.is_empty()).then(|| retrieval(&vectors, &pairs)),
        quantized: program.as_ref().map(|(path, _, _)| {
            let cos: Vec<f64> = vectors
                .iter()
                .zip(&qvectors)
                .map(|(f, q)| cosine(f, q))
                .collect();
            QuantReport {
                sysq: path.display().to_string(),
                mean_cosine: cos.iter().sum::<f64>() / cos.len().max(1) as f64,
                min_cosine: cos.iter().copied().fold(1.0, f64::min),
                retrieval: (!pairs.is_empty()).then(|| retrieval(&qvectors, &pairs)),
                seconds: qseconds,
                seconds_per_sentence: qseconds / qvectors.len().max(1) as f64,
            }
        }),
    };
    if a.json {
        print_json(&report)?;
        return Ok(0);
    }
    println!(
        "{} sentences → {}-dim embeddings (mean pooling, sequence {seq}, {} tokens)",
        report.sentences, hidden, report.tokens
    );
    if a.output.is_none() && report.sentences <= 8 {
        for (t, v) in texts.iter().zip(&vectors) {
            let head: Vec<String> = v.iter().take(6).map(|x| format!("{x:+.4}")).collect();
            println!("  [{} …]  {t}", head.join(" "));
        }
    }
    if let Some(d) = pool_diff {
        println!("pooling check: max |Systole mean pool − model's pooled output| = {d:.2e}");
    }
    if let Some(r) = &report.retrieval {
        println!(
            "retrieval over {} sentences ({} queries): recall@1 {:.3}, MRR {:.3}",
            r.candidates + 1,
            r.queries,
            r.recall_at_1,
            r.mrr
        );
    }
    if let Some(q) = &report.quantized {
        println!(
            "integer reference ({}): cosine to float mean {:.5}, min {:.5}; {:.2} ms per sentence",
            q.sysq,
            q.mean_cosine,
            q.min_cosine,
            q.seconds_per_sentence * 1e3
        );
        if let Some(r) = &q.retrieval {
            println!(
                "integer retrieval: recall@1 {:.3}, MRR {:.3}",
                r.recall_at_1, r.mrr
            );
        }
    }
    println!(
        "float reference: {:.2} ms per sentence ({:.3} s in the model, {:.3} s in all)",
        report.seconds_per_sentence * 1e3,
        seconds,
        report.total_seconds
    );
    Ok(0)
}
