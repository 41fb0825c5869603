//! Writing HTML and SVG safely: every text of a record is the sender's (a User-Agent, a
//! Call-ID, a URI) and is escaped wherever it goes, text or attribute.

use std::fmt::Write;

/// `s` escaped for HTML/SVG text and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            // Control characters would make the document ill-formed: shown as U+FFFD.
            c if c.is_control() && c != '\n' && c != '\t' => o.push('\u{fffd}'),
            c => o.push(c),
        }
    }
    o
}

/// `s` cut to `max` characters (an ellipsis says so), then escaped.
pub fn esc_short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return esc(s);
    }
    let cut: String = s.chars().take(max.saturating_sub(1)).collect();
    esc(&format!("{cut}…"))
}

/// A table: a header row and rows of cells already escaped (HTML).
pub fn table(out: &mut String, class: &str, head: &[&str], rows: &[Vec<String>]) {
    let _ = write!(out, "<table class=\"{}\"><thead><tr>", esc(class));
    for h in head {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for r in rows {
        out.push_str("<tr>");
        for c in r {
            let _ = write!(out, "<td>{c}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
}

/// A link to a local file, relative to the report (`href` escaped; `text` already HTML).
pub fn link(href: &str, text: &str) -> String {
    format!("<a href=\"{}\">{text}</a>", esc(&percent_path(href)))
}

/// A relative path as a URL path: the characters a file name may hold that a URL may not.
fn percent_path(p: &str) -> String {
    let mut o = String::with_capacity(p.len());
    for b in p.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                o.push(b as char)
            }
            _ => {
                let _ = write!(o, "%{b:02X}");
            }
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_and_controls() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"y\"\u{7}"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;\u{fffd}"
        );
        assert_eq!(esc_short("abcdef", 4), "abc…");
        assert_eq!(
            link("calls/a b\".pcap", "x"),
            "<a href=\"calls/a%20b%22.pcap\">x</a>"
        );
    }
}
