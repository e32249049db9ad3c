//! Custom trackers: the user's own signals, applied beside the trained heads.
//!
//! A sales team often wants to follow something the bundled taxonomy does
//! not name ("security review", a rival product, a reseller). A tracker is
//! either a list of keywords and phrases, matched exactly on word boundaries
//! in any language, ignoring case and diacritics, or a handful of example
//! sentences, matched by cosine similarity of sentence embeddings, so that
//! examples written in English also find the same idea in Swedish or German.
//!
//! Sentence embeddings of one encoder share a large common direction, so raw
//! cosines of unrelated sentences are already high and close together. The
//! mean embedding of a few everyday sales sentences ([`BACKGROUND`]) is
//! removed from both sides before comparing, which spreads related and
//! unrelated sentences apart.
//!
//! Trackers live in a JSON file (`<workspace>/trackers.json`; see
//! `fixtures/trackers/trackers.json`). [`Trackers::prepare`] embeds the
//! examples once; [`crate::nlp::analyse`] then checks every sentence in the
//! same pass as the heads, on the embedding it already has.

use std::path::Path;

use serde::Deserialize;

use crate::domain::SignalKind;
use crate::error::{Error, Result};
use crate::nlp::Embedder;

/// The file name a workspace's trackers are read from.
pub const TRACKERS_FILE: &str = "trackers.json";

/// A sentence this close (cosine) to one of a tracker's examples is a hit,
/// unless the tracker sets its own threshold. Chosen so that paraphrases in
/// other languages pass while unrelated sales talk mostly does not (set on
/// the bundled sample; see tests/realdata_signals.rs).
pub const DEFAULT_SIMILARITY: f32 = 0.5;

/// Everyday sales sentences in our languages, about nothing in particular:
/// their mean embedding is what every sentence shares.
const BACKGROUND: &[&str] = &[
    "Thanks for your email, I will get back to you tomorrow.",
    "Please find the updated proposal attached.",
    "Can we move our call to Thursday afternoon?",
    "The team is busy with the quarterly planning this week.",
    "Tack för mejlet, jag återkommer i morgon.",
    "Vi hörs nästa vecka om nästa steg.",
    "Danke für Ihre Nachricht, ich melde mich morgen.",
    "Anbei finden Sie die aktualisierte Präsentation.",
    "Merci pour votre message, je reviens vers vous demain.",
    "Gracias por tu correo, te respondo mañana.",
    "Bedankt voor je bericht, ik kom er morgen op terug.",
    "Tak for din mail, jeg vender tilbage i morgen.",
];

/// The trackers file as written by the user.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackerConfig {
    pub trackers: Vec<TrackerSpec>,
}

/// One tracker as written by the user: keywords, examples, or both.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackerSpec {
    /// Shown with every hit and searchable; must be unique in the file.
    pub name: String,
    /// Words or phrases; any one of them on word boundaries is a hit.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Sentences that show what to find, in any language.
    #[serde(default)]
    pub examples: Vec<String>,
    /// Cosine similarity an example needs; default [`DEFAULT_SIMILARITY`].
    #[serde(default)]
    pub threshold: Option<f32>,
    /// Count hits as this built-in signal (for the predictor and warnings);
    /// default `custom`, which only the tracker name describes.
    #[serde(default)]
    pub kind: Option<SignalKind>,
}

impl TrackerConfig {
    /// Reads and checks a trackers file; errors name the file and the tracker.
    pub fn load(path: &Path) -> Result<TrackerConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        TrackerConfig::parse(&text, path)
    }

    /// Parses the JSON of a trackers file; `origin` names it in errors.
    pub fn parse(text: &str, origin: &Path) -> Result<TrackerConfig> {
        let config: TrackerConfig =
            serde_json::from_str(text).map_err(|e| Error::bad_input(origin, e.to_string()))?;
        let mut seen = std::collections::HashSet::new();
        for (i, spec) in config.trackers.iter().enumerate() {
            let bad = |reason: &str| Error::BadRecord {
                path: origin.to_path_buf(),
                record: format!("tracker {} ({:?})", i + 1, spec.name),
                reason: reason.to_string(),
            };
            if spec.name.trim().is_empty() {
                return Err(bad("the name is empty"));
            }
            if !seen.insert(spec.name.trim().to_string()) {
                return Err(bad("another tracker has the same name"));
            }
            if spec.keywords.iter().all(|k| words(k).is_empty()) && spec.examples.is_empty() {
                return Err(bad("needs at least one keyword or example sentence"));
            }
            if spec.threshold.is_some_and(|t| !(-1.0..=1.0).contains(&t)) {
                return Err(bad("threshold is a cosine similarity, between -1 and 1"));
            }
        }
        Ok(config)
    }
}

/// One tracker ready to match: keywords folded to words, examples embedded.
#[derive(Debug, Clone)]
struct Tracker {
    name: String,
    kind: SignalKind,
    phrases: Vec<Vec<String>>,
    examples: Vec<Vec<f32>>,
    threshold: f32,
}

/// A tracker that matched one sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackerHit {
    pub name: String,
    pub kind: SignalKind,
    /// 1 for a keyword; the best cosine similarity for examples.
    pub score: f32,
}

/// Trackers ready to apply; empty when the user defined none.
#[derive(Debug, Clone, Default)]
pub struct Trackers {
    trackers: Vec<Tracker>,
    /// Mean embedding of [`BACKGROUND`]; empty when no tracker has examples.
    center: Vec<f32>,
}

impl Trackers {
    /// No trackers: analysis finds only the heads' signals.
    pub fn none() -> Trackers {
        Trackers::default()
    }

    /// Reads `<workspace>/trackers.json` when it exists and prepares it.
    pub fn for_workspace<E: Embedder>(workspace: &Path, embedder: &E) -> Result<Trackers> {
        let path = workspace.join(TRACKERS_FILE);
        if !path.exists() {
            return Ok(Trackers::none());
        }
        let trackers = Trackers::prepare(&TrackerConfig::load(&path)?, embedder)?;
        tracing::info!(trackers = trackers.len(), path = %path.display(), "loaded trackers");
        Ok(trackers)
    }

    /// Folds the keywords and embeds the examples and the background, all in
    /// one encoder call.
    pub fn prepare<E: Embedder>(config: &TrackerConfig, embedder: &E) -> Result<Trackers> {
        let mut texts: Vec<&str> = config
            .trackers
            .iter()
            .flat_map(|t| t.examples.iter().map(String::as_str))
            .collect();
        let examples = texts.len();
        let mut center = Vec::new();
        let mut vectors = Vec::new();
        if examples > 0 {
            texts.extend(BACKGROUND);
            vectors = embedder.embed_passages(&texts)?;
            center = mean(&vectors[examples..]);
            vectors.truncate(examples);
            for v in &mut vectors {
                *v = centered(v, &center);
            }
        }
        let mut vectors = vectors.into_iter();
        let trackers = config
            .trackers
            .iter()
            .map(|spec| Tracker {
                name: spec.name.trim().to_string(),
                kind: spec.kind.unwrap_or(SignalKind::Custom),
                phrases: spec
                    .keywords
                    .iter()
                    .map(|k| words(k))
                    .filter(|w| !w.is_empty())
                    .collect(),
                examples: vectors.by_ref().take(spec.examples.len()).collect(),
                threshold: spec.threshold.unwrap_or(DEFAULT_SIMILARITY),
            })
            .collect();
        Ok(Trackers { trackers, center })
    }

    pub fn len(&self) -> usize {
        self.trackers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.trackers.is_empty()
    }

    /// The trackers that fire on one sentence, given its embedding (which
    /// may be empty when only keyword trackers are defined).
    pub fn matches(&self, sentence: &str, embedding: &[f32]) -> Vec<TrackerHit> {
        if self.trackers.is_empty() {
            return Vec::new();
        }
        let sentence_words = words(sentence);
        let embedding = centered(embedding, &self.center);
        let mut hits = Vec::new();
        for tracker in &self.trackers {
            let keyword = tracker
                .phrases
                .iter()
                .any(|phrase| contains_phrase(&sentence_words, phrase));
            let score = if keyword {
                Some(1.0)
            } else {
                tracker
                    .examples
                    .iter()
                    .map(|example| cosine(example, &embedding))
                    .fold(None, |best: Option<f32>, s| {
                        Some(best.map_or(s, |b| b.max(s)))
                    })
                    .filter(|best| *best >= tracker.threshold)
            };
            if let Some(score) = score {
                hits.push(TrackerHit {
                    name: tracker.name.clone(),
                    kind: tracker.kind,
                    score,
                });
            }
        }
        hits
    }
}

/// Whether `phrase` occurs as consecutive whole words of `sentence`.
fn contains_phrase(sentence: &[String], phrase: &[String]) -> bool {
    !phrase.is_empty()
        && sentence
            .windows(phrase.len())
            .any(|window| window == phrase)
}

fn mean(vectors: &[Vec<f32>]) -> Vec<f32> {
    let width = vectors.first().map_or(0, Vec::len);
    let mut sum = vec![0f32; width];
    for v in vectors {
        for (s, x) in sum.iter_mut().zip(v) {
            *s += x;
        }
    }
    sum.iter()
        .map(|s| s / vectors.len().max(1) as f32)
        .collect()
}

/// `v` minus `center`, or `v` itself when the widths differ (no center).
fn centered(v: &[f32], center: &[f32]) -> Vec<f32> {
    if v.len() != center.len() {
        return v.to_vec();
    }
    v.iter().zip(center).map(|(x, c)| x - c).collect()
}

/// Cosine similarity; 0 when either vector is empty, zero or of another width.
fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() || a.is_empty() {
        return 0.0;
    }
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norms =
        a.iter().map(|x| x * x).sum::<f32>().sqrt() * b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norms == 0.0 {
        0.0
    } else {
        dot / norms
    }
}

/// Lower-cased words without diacritics: the unit keywords match on.
fn words(text: &str) -> Vec<String> {
    let folded: String = text
        .chars()
        .flat_map(char::to_lowercase)
        .map(fold)
        .collect();
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Drops the diacritic of a lower-case Latin letter, so that "Säkerhet",
/// "sakerhet" and "SÄKERHET" match alike. Letters that are their own letter
/// (ß, æ, ø, œ) keep their spelling except for a common ASCII stand-in.
fn fold(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ą' => 'a',
        'ç' | 'ć' | 'č' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' | 'ě' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'ī' => 'i',
        'ñ' | 'ń' | 'ň' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ō' | 'ő' | 'ø' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' => 'u',
        'ý' | 'ÿ' => 'y',
        'ś' | 'š' => 's',
        'ź' | 'ż' | 'ž' => 'z',
        'ł' => 'l',
        'ř' => 'r',
        'ť' => 't',
        'ď' => 'd',
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Puts the example "a" on the first axis and everything else (the
    /// background) at the origin, so that centering changes nothing.
    struct NoEmbedder;

    impl Embedder for NoEmbedder {
        fn embed_passages(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
            Ok(texts
                .iter()
                .map(|t| {
                    if *t == "a" {
                        vec![1.0, 0.0]
                    } else {
                        vec![0.0, 0.0]
                    }
                })
                .collect())
        }

        fn dim(&self) -> usize {
            2
        }
    }

    fn keyword_trackers(json: &str) -> Trackers {
        let config = TrackerConfig::parse(json, Path::new("trackers.json")).unwrap();
        Trackers::prepare(&config, &NoEmbedder).unwrap()
    }

    #[test]
    fn keywords_ignore_case_and_diacritics() {
        let t =
            keyword_trackers(r#"{"trackers":[{"name":"sec","keywords":["säkerhetsgranskning"]}]}"#);
        assert_eq!(
            t.matches("Vi behöver en SAKERHETSGRANSKNING först.", &[])
                .len(),
            1
        );
        assert_eq!(t.matches("Die Säkerhetsgranskning läuft", &[]).len(), 1);
    }

    #[test]
    fn keywords_match_whole_words_only() {
        let t = keyword_trackers(r#"{"trackers":[{"name":"sso","keywords":["SSO"]}]}"#);
        assert_eq!(t.matches("Do you support SSO?", &[]).len(), 1);
        assert!(t.matches("We are ssolutions-oriented", &[]).is_empty());
        assert!(t.matches("Lasso pricing", &[]).is_empty());
    }

    #[test]
    fn phrases_need_their_words_in_order() {
        let t = keyword_trackers(r#"{"trackers":[{"name":"pen","keywords":["pen test"]}]}"#);
        assert_eq!(t.matches("The pen-test report is attached", &[]).len(), 1);
        assert!(t.matches("Test the pen", &[]).is_empty());
    }

    #[test]
    fn examples_match_by_cosine_over_the_threshold() {
        let json = r#"{"trackers":[{"name":"x","examples":["a"],"threshold":0.9}]}"#;
        let t = keyword_trackers(json);
        assert_eq!(t.matches("anything", &[0.99, 0.1]).len(), 1);
        assert!(t.matches("anything", &[0.1, 0.99]).is_empty());
        assert_eq!(
            t.matches("anything", &[0.99, 0.1])[0].kind,
            SignalKind::Custom
        );
    }

    #[test]
    fn config_errors_name_the_tracker() {
        let err = TrackerConfig::parse(
            r#"{"trackers":[{"name":"ok","keywords":["a"]},{"name":"empty"}]}"#,
            Path::new("t.json"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("t.json") && err.contains("tracker 2"), "{err}");
        let err = TrackerConfig::parse(
            r#"{"trackers":[{"name":"a","keyword":["x"]}]}"#,
            Path::new("t.json"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("keyword"), "{err}");
    }
}
