//! Text normalisation and word n-grams, shared by dedup and decontamination.

/// Lowercases, turns every run of characters that are not letters or digits into one space, and
/// trims: `"Given  N, print it!"` → `"given n print it"`.
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut gap = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.extend(c.to_lowercase());
        } else {
            gap = true;
        }
    }
    out
}

/// 64-bit FNV-1a: a stable hash (same on every machine and version) for n-grams.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Hashes of the word `n`-grams of normalised text; a text shorter than `n` words yields one
/// n-gram of all its words (none when empty).
pub fn word_ngrams(normalised: &str, n: usize) -> Vec<u64> {
    let words: Vec<&str> = normalised.split(' ').filter(|w| !w.is_empty()).collect();
    if words.is_empty() {
        return Vec::new();
    }
    if words.len() <= n {
        return vec![fnv1a(words.join(" ").as_bytes())];
    }
    words.windows(n).map(|w| fnv1a(w.join(" ").as_bytes())).collect()
}

/// The text of the `i`-th n-gram, for reports.
pub fn ngram_text(normalised: &str, n: usize, hash: u64) -> Option<String> {
    let words: Vec<&str> = normalised.split(' ').filter(|w| !w.is_empty()).collect();
    if words.len() <= n {
        let all = words.join(" ");
        return (fnv1a(all.as_bytes()) == hash).then_some(all);
    }
    words.windows(n).map(|w| w.join(" ")).find(|g| fnv1a(g.as_bytes()) == hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_cases() {
        for (input, want) in [
            ("Given  N, print it!", "given n print it"),
            ("  \n\t", ""),
            ("A-B_c", "a b c"),
            ("Ünïcode ÄB", "ünïcode äb"),
            ("x\r\ny", "x y"),
        ] {
            assert_eq!(normalise(input), want, "{input:?}");
        }
    }

    #[test]
    fn ngrams() {
        assert_eq!(word_ngrams("a b c d", 2).len(), 3);
        assert_eq!(word_ngrams("a b", 5), vec![fnv1a(b"a b")]);
        assert!(word_ngrams("", 3).is_empty());
        let g = word_ngrams("a b c d", 3)[1];
        assert_eq!(ngram_text("a b c d", 3, g).as_deref(), Some("b c d"));
    }
}
