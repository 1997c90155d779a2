//! The sentence set format (`models/text/sentences.tsv`): a header line
//! `id<TAB>split<TAB>pair<TAB>text`, then one sentence per line. `split` is `calib` (for
//! quantization calibration) or `eval` (for the retrieval benchmark); `pair` is empty or a pair
//! id shared by exactly two sentences that paraphrase each other. A plain text file (one
//! sentence per line, no tabs) is read as sentences without splits or pairs.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{FlowError, Result};

#[derive(Clone, Debug, PartialEq)]
pub struct Sentence {
    pub id: String,
    pub split: String,
    pub pair: Option<String>,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SentenceSet {
    pub sentences: Vec<Sentence>,
}

const HEADER: &str = "id\tsplit\tpair\ttext";

impl SentenceSet {
    pub fn read(path: &Path) -> Result<SentenceSet> {
        let text = systole_compiler::files::read_string(path)?;
        SentenceSet::parse(&text).map_err(|e| match e {
            FlowError::Sentences { msg } => FlowError::File {
                path: path.to_path_buf(),
                msg,
            },
            other => other,
        })
    }

    pub fn parse(text: &str) -> Result<SentenceSet> {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let Some((_, first)) = lines.next() else {
            return Err(FlowError::Sentences {
                msg: "no sentences".to_string(),
            });
        };
        if first.trim_end() != HEADER {
            if text.contains('\t') {
                return Err(FlowError::Sentences {
                    msg: format!("a TSV sentence set starts with the header {HEADER:?}"),
                });
            }
            let sentences = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .enumerate()
                .map(|(i, l)| Sentence {
                    id: format!("{}", i + 1),
                    split: "all".into(),
                    pair: None,
                    text: l.to_string(),
                })
                .collect();
            return Ok(SentenceSet { sentences });
        }
        let mut sentences = Vec::new();
        let mut ids = BTreeMap::new();
        for (i, l) in lines {
            let f: Vec<&str> = l.split('\t').collect();
            let [id, split, pair, text] = f[..] else {
                return Err(FlowError::Sentences {
                    msg: format!(
                        "line {}: expected 4 tab-separated fields, got {}",
                        i + 1,
                        f.len()
                    ),
                });
            };
            if split != "calib" && split != "eval" {
                return Err(FlowError::Sentences {
                    msg: format!("line {}: split {split:?} is not calib or eval", i + 1),
                });
            }
            if text.trim().is_empty() {
                return Err(FlowError::Sentences {
                    msg: format!("line {}: empty text", i + 1),
                });
            }
            if ids.insert(id.to_string(), i + 1).is_some() {
                return Err(FlowError::Sentences {
                    msg: format!("line {}: id {id:?} is used twice", i + 1),
                });
            }
            sentences.push(Sentence {
                id: id.into(),
                split: split.into(),
                pair: (!pair.is_empty()).then(|| pair.to_string()),
                text: text.trim().into(),
            });
        }
        let set = SentenceSet { sentences };
        let mut members: BTreeMap<&str, Vec<&Sentence>> = BTreeMap::new();
        for s in &set.sentences {
            if let Some(p) = &s.pair {
                members.entry(p).or_default().push(s);
            }
        }
        for (p, m) in &members {
            if m.len() != 2 || m[0].split != m[1].split {
                return Err(FlowError::Sentences {
                    msg: format!(
                        "pair {p:?} must have exactly two sentences in one split; has {}",
                        m.iter()
                            .map(|s| format!("{} ({})", s.id, s.split))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            }
        }
        Ok(set)
    }

    /// The sentences of one split (`all` keeps every sentence).
    pub fn split(&self, split: &str) -> SentenceSet {
        SentenceSet {
            sentences: self
                .sentences
                .iter()
                .filter(|s| split == "all" || s.split == split)
                .cloned()
                .collect(),
        }
    }

    pub fn texts(&self) -> Vec<String> {
        self.sentences.iter().map(|s| s.text.clone()).collect()
    }

    /// Index pairs of the paraphrase pairs, in pair-id order.
    pub fn pairs(&self) -> Vec<(usize, usize)> {
        let mut m: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, s) in self.sentences.iter().enumerate() {
            if let Some(p) = &s.pair {
                m.entry(p).or_default().push(i);
            }
        }
        m.values()
            .filter_map(|v| match v[..] {
                [a, b] => Some((a, b)),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tsv_and_plain_text() {
        let t = "id\tsplit\tpair\ttext\ns1\teval\tp1\tA cat sat.\ns2\teval\tp1\tThe cat was sitting.\ns3\tcalib\t\tRain.\n";
        let s = SentenceSet::parse(t).unwrap();
        assert_eq!(s.sentences.len(), 3);
        assert_eq!(s.split("eval").pairs(), vec![(0, 1)]);
        assert_eq!(s.split("calib").texts(), vec!["Rain.".to_string()]);
        let plain = SentenceSet::parse("one\n\ntwo\n").unwrap();
        assert_eq!(plain.texts(), vec!["one".to_string(), "two".to_string()]);
        assert!(SentenceSet::parse("id\tsplit\tpair\ttext\ns1\teval\tp1\tA.\n").is_err());
        assert!(SentenceSet::parse("id\tsplit\tpair\ttext\ns1\ttrain\t\tA.\n").is_err());
        assert!(SentenceSet::parse("a\tb\n").is_err());
    }
}
