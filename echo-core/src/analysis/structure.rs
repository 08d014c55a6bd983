//! Answer structure: which markdown list item a byte offset sits in.
//!
//! LLM answers to "what is the best X" are mostly lists, and a brand's position in the
//! list is a metric (`mean_list_position`). This is a small line-based reading of
//! CommonMark list rules, not a full markdown parser, because only one fact is needed:
//! the 1-based index of the item holding an offset, within the list it belongs to.
//!
//! Rules:
//! - An item line is optional indentation, then `-`, `*` or `+`, or 1–9 digits followed by
//!   `.` or `)`, then a space, a tab or the end of the line. Items are counted, not read:
//!   "1. 1. 1." is items 1, 2, 3.
//! - An item indented at least to the text column of the enclosing item starts (or
//!   continues) a nested list; a shallower one returns to the outer list. Switching
//!   between numbered and bulleted markers at the same depth starts a new list.
//! - A line indented to an item's text column continues that item, even after blank lines
//!   (a "loose" list). A blank line between two items does not end the list.
//! - A non-blank, non-item line that is not indented ends the list when it follows a
//!   blank line, or when it starts a heading, table, quote, rule or code fence. Directly
//!   after an item line it is a lazy continuation of that item, as in CommonMark.
//! - Lines inside fenced code blocks are not read as items.
//!
//! Known gap: numbered headings ("### 1. HubSpot") are headings, not list items.

/// One open list: its marker column, the text column of its current item, its kind and
/// the number of items seen so far.
#[derive(Debug, Clone, Copy)]
struct Level {
    indent: usize,
    content_col: usize,
    ordered: bool,
    count: u32,
}

/// A parsed list item marker.
struct ItemMarker {
    indent: usize,
    content_col: usize,
    ordered: bool,
}

/// Line-by-line list state.
#[derive(Debug, Default)]
struct ListState {
    stack: Vec<Level>,
    /// Item index of the previous non-blank line, when it was in a list.
    current: Option<u32>,
    blank_before: bool,
    in_fence: bool,
    /// Item index the fence's lines belong to (a fence indented inside an item).
    fence_item: Option<u32>,
}

impl ListState {
    /// Reads one line (without its newline) and returns the list item index it belongs to.
    fn line(&mut self, line: &str) -> Option<u32> {
        let (indent, rest) = split_indent(line);
        if self.in_fence {
            if is_fence(rest) {
                self.in_fence = false;
            }
            return self.fence_item;
        }
        if rest.trim().is_empty() {
            self.blank_before = true;
            return None;
        }
        let after_blank = std::mem::take(&mut self.blank_before);
        if let Some(m) = parse_marker(indent, rest) {
            self.item(m);
            self.current = self.stack.last().map(|l| l.count);
            return self.current;
        }
        // A paragraph line indented to some item's text column continues that item.
        if self.stack.first().is_some_and(|l| indent >= l.content_col) {
            while self.stack.last().is_some_and(|l| indent < l.content_col) {
                self.stack.pop();
            }
            self.current = self.stack.last().map(|l| l.count);
        } else if !after_blank && self.current.is_some() && !interrupts(rest) {
            // Lazy continuation: keep `current`.
        } else {
            self.stack.clear();
            self.current = None;
        }
        if is_fence(rest) {
            self.in_fence = true;
            self.fence_item = self.current;
        }
        self.current
    }

    fn item(&mut self, m: ItemMarker) {
        while self.stack.last().is_some_and(|l| m.indent < l.indent) {
            self.stack.pop();
        }
        match self.stack.last_mut() {
            // Deeper than the enclosing item's text: a nested list.
            Some(top) if m.indent >= top.content_col => self.stack.push(Level {
                indent: m.indent,
                content_col: m.content_col,
                ordered: m.ordered,
                count: 1,
            }),
            Some(top) if top.ordered == m.ordered => {
                top.count += 1;
                top.indent = m.indent;
                top.content_col = m.content_col;
            }
            Some(top) => {
                *top = Level {
                    indent: m.indent,
                    content_col: m.content_col,
                    ordered: m.ordered,
                    count: 1,
                }
            }
            None => self.stack.push(Level {
                indent: m.indent,
                content_col: m.content_col,
                ordered: m.ordered,
                count: 1,
            }),
        }
    }
}

/// Leading whitespace width (a tab counts 4) and the rest of the line.
fn split_indent(line: &str) -> (usize, &str) {
    let mut width = 0;
    for (i, b) in line.bytes().enumerate() {
        match b {
            b' ' => width += 1,
            b'\t' => width += 4 - width % 4,
            _ => return (width, &line[i..]),
        }
    }
    (width, "")
}

/// Parses a list marker at the start of `rest` (indentation already removed).
fn parse_marker(indent: usize, rest: &str) -> Option<ItemMarker> {
    let bytes = rest.as_bytes();
    let (marker_len, ordered) = match bytes.first()? {
        b'-' | b'*' | b'+' => (1, false),
        b'0'..=b'9' => {
            let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
            if digits > 9 || !matches!(bytes.get(digits), Some(b'.' | b')')) {
                return None;
            }
            (digits + 1, true)
        }
        _ => return None,
    };
    let spaces = match bytes.get(marker_len) {
        None | Some(b'\r') => 1,
        Some(b' ' | b'\t') => bytes[marker_len..]
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count()
            .min(4),
        Some(_) => return None,
    };
    Some(ItemMarker {
        indent,
        content_col: indent + marker_len + spaces,
        ordered,
    })
}

/// Lines that end a list even without a blank line before them.
fn interrupts(rest: &str) -> bool {
    rest.starts_with('#')
        || rest.starts_with('|')
        || rest.starts_with('>')
        || is_fence(rest)
        || ["---", "***", "___"].iter().any(|r| rest.starts_with(r))
}

fn is_fence(rest: &str) -> bool {
    rest.starts_with("```") || rest.starts_with("~~~")
}

/// For each offset of `offsets` (which must be ascending), the 1-based index of the
/// markdown list item holding it, or `None` outside lists. Reads the text once, and only
/// up to the last offset.
pub(crate) fn list_indices(text: &str, offsets: &[usize]) -> Vec<Option<u32>> {
    debug_assert!(offsets.windows(2).all(|w| w[0] <= w[1]), "offsets must be ascending");
    let mut out = Vec::with_capacity(offsets.len());
    let mut state = ListState::default();
    let mut line_start = 0;
    let mut next = offsets.iter().peekable();
    while next.peek().is_some() {
        if line_start > text.len() {
            // Offsets past the end (impossible from the extractor) sit in no list.
            out.push(None);
            next.next();
            continue;
        }
        let line_end = text[line_start..].find('\n').map_or(text.len(), |i| line_start + i);
        let item = state.line(&text[line_start..line_end]);
        while next.peek().is_some_and(|&&o| o <= line_end) {
            out.push(item);
            next.next();
        }
        line_start = line_end + 1;
    }
    out
}

/// The 1-based index of the markdown list item holding byte `offset` of `text`, if any.
pub fn list_item_index(text: &str, offset: usize) -> Option<u32> {
    list_indices(text, &[offset]).pop().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// List index of the first occurrence of `needle`.
    fn at(text: &str, needle: &str) -> Option<u32> {
        let offset = text.find(needle).unwrap_or_else(|| panic!("{needle:?} not in text"));
        list_item_index(text, offset)
    }

    #[test]
    fn numbered_list() {
        let t = "Top CRMs:\n\n1. **HubSpot** – free tier\n2. Pipedrive\n3) Close\n\nAll good.";
        assert_eq!(at(t, "Top"), None);
        assert_eq!(at(t, "HubSpot"), Some(1));
        assert_eq!(at(t, "Pipedrive"), Some(2));
        assert_eq!(at(t, "Close"), Some(3));
        assert_eq!(at(t, "All"), None);
    }

    #[test]
    fn bulleted_list_with_indentation_and_markers() {
        let t = "  - Alpha\n  * Beta\n  + Gamma";
        assert_eq!(at(t, "Alpha"), Some(1));
        assert_eq!(at(t, "Beta"), Some(2));
        assert_eq!(at(t, "Gamma"), Some(3));
    }

    #[test]
    fn paragraph_after_blank_line_ends_list() {
        let t = "1. Alpha\n2. Beta\n\nMiddle text.\n\n1. Gamma\n2. Delta";
        assert_eq!(at(t, "Middle"), None);
        assert_eq!(at(t, "Gamma"), Some(1));
        assert_eq!(at(t, "Delta"), Some(2));
    }

    #[test]
    fn loose_list_continues_over_blank_lines() {
        let t = "1. Alpha\n\n   More about alpha.\n\n2. Beta\n\n3. Gamma";
        assert_eq!(at(t, "More"), Some(1));
        assert_eq!(at(t, "Beta"), Some(2));
        assert_eq!(at(t, "Gamma"), Some(3));
    }

    #[test]
    fn nested_lists_count_separately() {
        let t = "1. Alpha\n   - sub one\n   - sub two\n2. Beta\n   - sub three";
        assert_eq!(at(t, "sub one"), Some(1));
        assert_eq!(at(t, "sub two"), Some(2));
        assert_eq!(at(t, "Beta"), Some(2));
        assert_eq!(at(t, "sub three"), Some(1));
    }

    #[test]
    fn switching_marker_kind_starts_a_new_list() {
        let t = "1. Alpha\n2. Beta\n- Gamma\n- Delta";
        assert_eq!(at(t, "Gamma"), Some(1));
        assert_eq!(at(t, "Delta"), Some(2));
    }

    #[test]
    fn lazy_continuation_and_interruptions() {
        let t = "- Alpha\nstill alpha\n## Heading\nafter";
        assert_eq!(at(t, "still"), Some(1));
        assert_eq!(at(t, "Heading"), None);
        assert_eq!(at(t, "after"), None);
    }

    #[test]
    fn not_items() {
        for t in [
            "**Bold** text",
            "-dash",
            "2024 was good",
            "3.5 stars",
            "12345678901. too long",
        ] {
            assert_eq!(list_item_index(t, 0), None, "{t:?}");
        }
    }

    #[test]
    fn fenced_code_is_not_read() {
        let t = "```\n- not an item\n```\n- Alpha";
        assert_eq!(at(t, "not an item"), None);
        assert_eq!(at(t, "Alpha"), Some(1));
    }

    #[test]
    fn crlf_and_many_offsets() {
        let t = "1. A\r\n2. B\r\n";
        assert_eq!(
            list_indices(t, &[0, 3, 6, 9, 100]),
            vec![Some(1), Some(1), Some(2), Some(2), None]
        );
    }
}
