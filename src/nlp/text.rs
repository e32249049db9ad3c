//! Text preparation for the NLP stage: sentences and language.
//!
//! Signals are found per sentence, so that each one can be shown to a sales
//! leader with the sentence behind it. Mail bodies are hard-wrapped at about
//! 72 columns, so lines are first joined back into paragraphs; lists, short
//! lines and blank lines still end a sentence.

use unicode_segmentation::UnicodeSegmentation;

/// Sentences shorter than this (in characters) carry no signal worth a model call.
const MIN_SENTENCE_CHARS: usize = 3;

/// A sentence longer than this is cut: signals sit in short statements, and the
/// encoder's cost grows with length.
const MAX_SENTENCE_CHARS: usize = 400;

/// Splits a message's new text into sentences, in order, trimmed.
pub fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for paragraph in paragraphs(text) {
        for sentence in paragraph.unicode_sentences() {
            let sentence = sentence.trim();
            if sentence.chars().filter(|c| c.is_alphabetic()).count() < MIN_SENTENCE_CHARS {
                continue;
            }
            out.push(truncate_chars(sentence, MAX_SENTENCE_CHARS).to_string());
        }
    }
    out
}

/// Joins hard-wrapped lines into paragraphs. A blank line, a list bullet or a
/// short line (a greeting, a sign-off) ends the paragraph.
fn paragraphs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        let starts_item = line.starts_with(['-', '*', '•']) || starts_with_number_item(line);
        if line.is_empty() || starts_item {
            flush(&mut current, &mut out);
        }
        if line.is_empty() {
            continue;
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(line);
        if line.chars().count() < 40 && !line.ends_with(',') {
            flush(&mut current, &mut out);
        }
    }
    flush(&mut current, &mut out);
    out
}

fn flush(current: &mut String, out: &mut Vec<String>) {
    if !current.is_empty() {
        out.push(std::mem::take(current));
    }
}

fn starts_with_number_item(line: &str) -> bool {
    let digits = line.chars().take_while(|c| c.is_ascii_digit()).count();
    digits > 0 && digits < 3 && line[digits..].starts_with(['.', ')'])
}

fn truncate_chars(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((cut, _)) => &text[..cut],
        None => text,
    }
}

/// Detects the language of a text as an ISO 639-1 code, or "und" when the text
/// is too short or too mixed to tell.
pub fn language(text: &str) -> String {
    let sample = truncate_chars(text, 2000);
    match whatlang::detect(sample) {
        Some(info) if info.is_reliable() || sample.chars().count() > 60 => {
            iso639_1(info.lang()).to_string()
        }
        _ => "und".to_string(),
    }
}

/// Maps whatlang's ISO 639-3 codes to the two-letter codes our users and
/// Tantivy's stemmers know; languages without one keep their 639-3 code.
fn iso639_1(lang: whatlang::Lang) -> &'static str {
    use whatlang::Lang::*;
    match lang {
        Eng => "en",
        Swe => "sv",
        Deu => "de",
        Fra => "fr",
        Spa => "es",
        Nld => "nl",
        Dan => "da",
        Nob => "no",
        Fin => "fi",
        Ita => "it",
        Por => "pt",
        Pol => "pl",
        Rus => "ru",
        Ukr => "uk",
        Tur => "tr",
        Ara => "ar",
        Hin => "hi",
        Jpn => "ja",
        Kor => "ko",
        Cmn => "zh",
        Ell => "el",
        Ces => "cs",
        Hun => "hu",
        Ron => "ro",
        Est => "et",
        Lit => "lt",
        Lav => "lv",
        Heb => "he",
        other => other.code(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_lines_are_joined_before_splitting() {
        let text = "We have discussed the offer internally and the budget\n\
                    is approved. Can you send the contract?\n\nBest,\nLars";
        let got = sentences(text);
        assert_eq!(
            got,
            vec![
                "We have discussed the offer internally and the budget is approved.",
                "Can you send the contract?",
                "Best, Lars",
            ]
        );
    }

    #[test]
    fn list_items_are_separate_sentences() {
        let got = sentences("Next steps:\n- legal review of the DPA\n- pilot in March\n");
        assert_eq!(
            got,
            vec![
                "Next steps:",
                "- legal review of the DPA",
                "- pilot in March"
            ]
        );
    }

    #[test]
    fn fragments_without_letters_are_dropped() {
        assert!(sentences("--\n123 456\n:-)").is_empty());
    }

    #[test]
    fn long_sentences_are_cut() {
        let long = "word ".repeat(200);
        let got = sentences(&long);
        assert_eq!(got.len(), 1);
        assert!(got[0].chars().count() <= MAX_SENTENCE_CHARS);
    }

    #[test]
    fn language_is_detected_for_sales_languages() {
        let cases = [
            ("en", "Thanks for the proposal, we will review it with our finance team next week."),
            ("sv", "Tack för offerten, vi går igenom den med ekonomiavdelningen nästa vecka."),
            ("de", "Vielen Dank für das Angebot, wir besprechen es nächste Woche mit der Finanzabteilung."),
            ("fr", "Merci pour la proposition, nous allons l'étudier avec notre équipe financière la semaine prochaine."),
            ("es", "Gracias por la propuesta, la revisaremos con nuestro equipo de finanzas la próxima semana."),
        ];
        for (want, text) in cases {
            assert_eq!(language(text), want, "{text}");
        }
    }

    #[test]
    fn too_short_text_has_undetermined_language() {
        assert_eq!(language("ok"), "und");
    }
}
