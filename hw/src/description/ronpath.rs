//! Names the field a RON parse error points at, so a message says `field 'vector.ops'` and not
//! only a line and column.
//!
//! A light scan of the text up to the error: it tracks `name:` keys and the brackets they open,
//! skipping strings and comments. It only labels messages; parsing is RON's.

/// The dotted field path at 1-based `line`, `col` (columns count characters), if any.
pub(crate) fn field_at(text: &str, line: usize, col: usize) -> Option<String> {
    let end = offset_of(text, line, col)?;
    let b = text.as_bytes();
    let mut stack: Vec<Option<String>> = Vec::new();
    let mut pending: Option<String> = None;
    let mut i = 0;
    while i < end {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'(' | b'[' | b'{' => {
                stack.push(pending.take());
                i += 1;
            }
            b')' | b']' | b'}' => {
                stack.pop();
                pending = None;
                i += 1;
            }
            b',' => {
                pending = None;
                i += 1;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let (ident, next) = ident_at(b, i);
                if let Some(key) = key_after(b, ident, next) {
                    pending = Some(key);
                }
                i = next;
            }
            _ => i += 1,
        }
    }
    // An error at a closing bracket (a missing field) is about the enclosing value.
    if matches!(b.get(end), Some(b')' | b']' | b'}')) {
        pending = None;
    }
    // An error that points at a key (an unknown or duplicate field) names that key.
    if pending.is_none() {
        let j = skip_ws(b, end);
        if j < b.len() && (b[j].is_ascii_alphabetic() || b[j] == b'_') {
            let (ident, next) = ident_at(b, j);
            pending = key_after(b, ident, next);
        }
    }
    let parts: Vec<String> = stack.into_iter().flatten().chain(pending).collect();
    (!parts.is_empty()).then(|| parts.join("."))
}

fn offset_of(text: &str, line: usize, col: usize) -> Option<usize> {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.checked_sub(1)?)
        .map(str::len)
        .sum();
    let rest = text.get(start..)?;
    let within = rest
        .char_indices()
        .nth(col.saturating_sub(1))
        .map_or(rest.len(), |(o, _)| o);
    Some(start + within)
}

fn ident_at(b: &[u8], i: usize) -> (&[u8], usize) {
    let mut j = i;
    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
        j += 1;
    }
    (&b[i..j], j)
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// `ident` is a key when a single `:` follows it.
fn key_after(b: &[u8], ident: &[u8], next: usize) -> Option<String> {
    let j = skip_ws(b, next);
    (b.get(j) == Some(&b':') && b.get(j + 1) != Some(&b':'))
        .then(|| String::from_utf8_lossy(ident).into_owned())
}

#[cfg(test)]
mod tests {
    use super::field_at;

    #[test]
    fn nested_keys_and_map_keys() {
        let t = "(\n a: 1,\n b: X(c: (d: \"x:y\", // e: 1\n e: Q)),\n m: {K: 2},\n)";
        assert_eq!(field_at(t, 2, 5).as_deref(), Some("a"));
        assert_eq!(field_at(t, 4, 5).as_deref(), Some("b.c.e"));
        assert_eq!(field_at(t, 5, 8).as_deref(), Some("m.K"));
        assert_eq!(field_at(t, 4, 6).as_deref(), Some("b.c"));
        assert_eq!(field_at(t, 1, 1), None);
    }
}
