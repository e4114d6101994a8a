//! The parts of an .xlsx package the streaming reader needs, found the way calamine
//! finds them: the package relationships name the workbook, the workbook's
//! relationships name its worksheets and shared strings, `styles.xml` sits next to the
//! workbook. Also the small XML helpers (raw attributes, cell references, entities)
//! the streaming reader shares.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Seek};

use calamine::XlsxError;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::Reader as XmlReader;
use zip::result::ZipError;
use zip::ZipArchive;

/// Relationship type suffixes of the parts we look for.
const OFFICE_DOCUMENT: &str = "/relationships/officeDocument";
const SHARED_STRINGS: &str = "/relationships/sharedStrings";

/// Read buffer of a part's XML stream.
const XML_BUFFER: usize = 64 * 1024;

/// What a sheet's relationship says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SheetKind {
    Work,
    Chart,
    Dialog,
}

/// One sheet of the workbook, in workbook order.
#[derive(Debug, Clone)]
pub(crate) struct SheetEntry {
    pub(crate) name: String,
    pub(crate) kind: SheetKind,
    /// Its part's path in the zip.
    pub(crate) part: String,
}

/// An opened .xlsx package: its zip and what its workbook part says.
pub(crate) struct Package<R: Read + Seek> {
    pub(crate) zip: ZipArchive<R>,
    /// Lower-case `/`-separated names → the zip's own names.
    names: HashMap<String, String>,
    /// The workbook's folder (`xl/`), with its trailing slash.
    pub(crate) xl_path: String,
    pub(crate) sheets: Vec<SheetEntry>,
    pub(crate) is_1904: bool,
    /// The shared strings part, when the workbook has one.
    pub(crate) shared_strings: Option<String>,
}

/// A quick-xml reader over one part, configured as calamine configures its own.
pub(crate) type PartReader<'a, R> = XmlReader<BufReader<zip::read::ZipFile<'a, R>>>;

impl<R: Read + Seek> Package<R> {
    /// Reads the zip's directory, the relationships and the workbook part.
    pub(crate) fn open(reader: R) -> Result<Package<R>, XlsxError> {
        let zip = ZipArchive::new(reader)?;
        let mut names = HashMap::with_capacity(zip.len());
        for name in zip.file_names() {
            let name = name?;
            names.insert(name.replace('\\', "/").to_ascii_lowercase(), name.into_owned());
        }
        let mut package = Package {
            zip,
            names,
            xl_path: String::new(),
            sheets: Vec::new(),
            is_1904: false,
            shared_strings: None,
        };
        let workbook = package.workbook_part()?;
        let (dir, file) = match workbook.rfind('/') {
            Some(i) => workbook.split_at(i + 1),
            None => ("", workbook.as_str()),
        };
        package.xl_path = dir.strip_prefix('/').unwrap_or(dir).to_string();
        let rels = package.relationships(&format!("{}_rels/{file}.rels", package.xl_path))?;
        package.shared_strings = rels
            .values()
            .find(|(_, typ)| typ.ends_with(SHARED_STRINGS))
            .map(|(target, _)| package.resolve(target))
            .filter(|part| package.has_part(part))
            .or_else(|| {
                Some(format!("{}sharedStrings.xml", package.xl_path)).filter(|p| package.has_part(p))
            });
        package.read_workbook(&format!("{}{file}", package.xl_path), &rels)?;
        Ok(package)
    }

    /// The zip's name for `part`, matched case-insensitively as calamine does.
    fn zip_name<'a>(&'a self, part: &'a str) -> &'a str {
        self.names.get(&part.to_ascii_lowercase()).map_or(part, String::as_str)
    }

    /// The zip's own name of `part`.
    pub(crate) fn entry_name(&self, part: &str) -> String {
        self.zip_name(part).to_string()
    }

    /// Whether the zip holds `part`.
    pub(crate) fn has_part(&self, part: &str) -> bool {
        self.names.contains_key(&part.to_ascii_lowercase())
    }

    /// The uncompressed size of `part` from the zip's directory, if the zip has it.
    pub(crate) fn part_size(&self, part: &str) -> Option<u64> {
        let index = self.zip.index_for_name(self.zip_name(part))?;
        self.zip.by_index_data(index).ok().map(|entry| entry.size())
    }

    /// An XML reader over `part`, or `None` when the zip has no such part.
    pub(crate) fn part(&mut self, part: &str) -> Result<Option<PartReader<'_, R>>, XlsxError> {
        let name = self.zip_name(part).to_string();
        match self.zip.by_name(&name) {
            Ok(file) => Ok(Some(xml_reader(BufReader::with_capacity(XML_BUFFER, file)))),
            Err(ZipError::FileNotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// A relationship target as a zip path: absolute, or relative to the workbook.
    fn resolve(&self, target: &str) -> String {
        match target.strip_prefix('/') {
            Some(absolute) => absolute.to_string(),
            None => format!("{}{target}", self.xl_path),
        }
    }

    /// The workbook part named by the package relationships.
    fn workbook_part(&mut self) -> Result<String, XlsxError> {
        let rels = self.relationships("_rels/.rels")?;
        rels.into_values()
            .find(|(_, typ)| typ.ends_with(OFFICE_DOCUMENT))
            .map(|(target, _)| target)
            .ok_or(XlsxError::RelationshipNotFound)
    }

    /// A relationships part: id → (target, type). A missing part is an error.
    fn relationships(&mut self, part: &str) -> Result<HashMap<String, (String, String)>, XlsxError> {
        let mut xml = self.part(part)?.ok_or_else(|| XlsxError::FileNotFound(part.to_string()))?;
        let mut rels = HashMap::new();
        let mut buf = Vec::with_capacity(1024);
        loop {
            buf.clear();
            match xml.read_event_into(&mut buf)? {
                Event::Start(e) if e.local_name().as_ref() == "Relationship" => {
                    let (mut id, mut typ, mut target) = (None, None, None);
                    for attr in RawAttrs::of(&e) {
                        let (key, value) = attr?;
                        match key {
                            "Id" => id = Some(value),
                            "Type" => typ = Some(value),
                            "Target" => target = Some(decode_attr(value)?),
                            _ => {}
                        }
                    }
                    if let Some(id) = id {
                        rels.insert(
                            id.to_string(),
                            (target.unwrap_or_default(), typ.unwrap_or_default().to_string()),
                        );
                    }
                }
                Event::End(e) if e.local_name().as_ref() == "Relationships" => return Ok(rels),
                Event::Eof => return Err(XlsxError::XmlEof("Relationships")),
                _ => {}
            }
        }
    }

    /// The sheets (name, kind, part) and the 1904 flag of the workbook part.
    fn read_workbook(
        &mut self,
        part: &str,
        rels: &HashMap<String, (String, String)>,
    ) -> Result<(), XlsxError> {
        let xl_path = self.xl_path.clone();
        let Some(mut xml) = self.part(part)? else {
            return Ok(());
        };
        let mut sheets = Vec::new();
        let mut is_1904 = false;
        let mut buf = Vec::with_capacity(1024);
        loop {
            buf.clear();
            match xml.read_event_into(&mut buf)? {
                Event::Start(e) if e.local_name().as_ref() == "sheet" => {
                    let mut name = String::new();
                    let mut rel_id = "";
                    for attr in RawAttrs::of(&e) {
                        let (key, value) = attr?;
                        match key {
                            "name" => name = decode_attr(value)?,
                            key if key == "id" || key.ends_with(":id") => rel_id = value,
                            _ => {}
                        }
                    }
                    let (target, typ) = rels.get(rel_id).ok_or(XlsxError::RelationshipNotFound)?;
                    let part = match target.strip_prefix('/') {
                        Some(absolute) => absolute.to_string(),
                        None => format!("{xl_path}{target}"),
                    };
                    let kind = match typ.rsplit('/').next() {
                        Some("worksheet") => SheetKind::Work,
                        Some("chartsheet") => SheetKind::Chart,
                        Some("dialogsheet") => SheetKind::Dialog,
                        _ => return Err(XlsxError::Unrecognized { typ: "sheet:type", val: part }),
                    };
                    sheets.push(SheetEntry { name, kind, part });
                }
                Event::Start(e) if e.local_name().as_ref() == "workbookPr" => {
                    if let Some(v) = raw_attr(&e, "date1904")? {
                        is_1904 = v == "1" || v == "true";
                    }
                }
                Event::End(e) if e.local_name().as_ref() == "workbook" => break,
                Event::Eof => return Err(XlsxError::XmlEof("workbook")),
                _ => {}
            }
        }
        drop(xml);
        self.sheets = sheets;
        self.is_1904 = is_1904;
        Ok(())
    }

    /// The number format kind of every cell style (`cellXfs`) in `styles.xml`; empty
    /// when the workbook has no styles part.
    pub(crate) fn number_formats(&mut self) -> Result<Vec<NumFmt>, XlsxError> {
        let part = format!("{}styles.xml", self.xl_path);
        let Some(mut xml) = self.part(&part)? else {
            return Ok(Vec::new());
        };
        let mut custom: HashMap<String, String> = HashMap::new();
        let mut formats = Vec::new();
        let (mut in_num_fmts, mut in_cell_xfs) = (false, false);
        let mut buf = Vec::with_capacity(1024);
        loop {
            buf.clear();
            match xml.read_event_into(&mut buf)? {
                Event::Start(e) => match e.local_name().as_ref() {
                    "numFmts" => in_num_fmts = true,
                    "cellXfs" => in_cell_xfs = true,
                    "numFmt" if in_num_fmts => {
                        let (mut id, mut code) = (None, None);
                        for attr in RawAttrs::of(&e) {
                            let (key, value) = attr?;
                            match key {
                                "numFmtId" => id = Some(value.to_string()),
                                "formatCode" => code = Some(decode_attr(value)?),
                                _ => {}
                            }
                        }
                        if let (Some(id), Some(code)) = (id, code) {
                            custom.insert(id, code);
                        }
                    }
                    "xf" if in_cell_xfs => formats.push(match raw_attr(&e, "numFmtId")? {
                        Some(id) => match custom.get(id) {
                            Some(code) => NumFmt::of_code(code),
                            None => NumFmt::built_in(id),
                        },
                        None => NumFmt::Other,
                    }),
                    _ => {}
                },
                Event::End(e) => match e.local_name().as_ref() {
                    "numFmts" => in_num_fmts = false,
                    "cellXfs" => in_cell_xfs = false,
                    "styleSheet" => return Ok(formats),
                    _ => {}
                },
                Event::Eof => return Err(XlsxError::XmlEof("styleSheet")),
                _ => {}
            }
        }
    }
}

/// What a number format makes of a number: a date (or time of day), a duration, or
/// a plain number. The rules are calamine's, so both .xlsx paths agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumFmt {
    Other,
    Date,
    Duration,
}

impl NumFmt {
    /// A built-in format by its id as written in the file (`"14"`).
    pub(crate) fn built_in(id: &str) -> NumFmt {
        // Only the canonical spelling of an id names a built-in format.
        let Some(n) = id.parse::<u16>().ok().filter(|n| n.to_string() == id) else {
            return NumFmt::Other;
        };
        match n {
            14..=22 | 27..=36 | 45 | 47 | 50..=58 => NumFmt::Date,
            46 => NumFmt::Duration,
            _ => NumFmt::Other,
        }
    }

    /// A custom format code: a date when its first section has a date or time
    /// letter outside quotes, brackets and escapes; a duration when it has an
    /// elapsed-time bracket (`[h]`, `[mm]`, `[s]`).
    pub(crate) fn of_code(code: &str) -> NumFmt {
        let mut literal_next = false;
        let mut quoted = false;
        let mut depth = 0u8;
        let mut prev = ' ';
        let mut elapsed = false;
        let mut am_pm = false;
        for c in code.chars() {
            if literal_next {
                literal_next = false;
            } else if matches!(c, '_' | '\\' | '*') {
                literal_next = true;
            } else if quoted {
                quoted = c != '"';
            } else if c == '"' {
                quoted = true;
            } else if c == ';' {
                return NumFmt::Other;
            } else if c == '[' {
                depth = depth.saturating_add(1);
            } else if c == ']' {
                if depth == 1 && elapsed {
                    return NumFmt::Duration;
                }
                depth = depth.saturating_sub(1);
            } else if depth == 0 && !am_pm && matches!(c, 'a' | 'A') {
                am_pm = true;
            } else if depth == 0
                && if am_pm { matches!(c, 'p' | 'P' | 'm' | 'M' | '/') } else { "dmhysDMHYS".contains(c) }
            {
                // After an `a` (of `AM/PM`, `a/p`) only those letters count.
                return NumFmt::Date;
            } else if !(elapsed && c.eq_ignore_ascii_case(&prev)) {
                elapsed = prev == '[' && "mhsMHS".contains(c);
            }
            prev = c;
        }
        NumFmt::Other
    }
}

/// A reader configured as calamine's: no end-name checks, text kept untrimmed,
/// `<a/>` read as `<a></a>`.
pub(crate) fn xml_reader<B: BufRead>(inner: B) -> XmlReader<B> {
    let mut reader = XmlReader::from_reader(inner);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.trim_text(false);
    config.check_comments = false;
    config.expand_empty_elements = true;
    reader
}

/// The raw (still escaped) attributes of a start tag, scanned without allocating.
pub(crate) struct RawAttrs<'a> {
    rest: &'a str,
}

impl<'a> RawAttrs<'a> {
    pub(crate) fn of(e: &'a BytesStart<'_>) -> RawAttrs<'a> {
        RawAttrs { rest: e.attributes_raw() }
    }
}

impl<'a> Iterator for RawAttrs<'a> {
    type Item = Result<(&'a str, &'a str), XlsxError>;

    fn next(&mut self) -> Option<Self::Item> {
        // Byte searches: every delimiter here is ASCII, so each cut is at a character
        // boundary (a cell's `r="A2" s="1" t="s"` is scanned in a few steps).
        let rest = self.rest.trim_start_matches(|c: char| c.is_ascii_whitespace());
        let bytes = rest.as_bytes();
        if bytes.is_empty() {
            self.rest = rest;
            return None;
        }
        let Some(eq) = bytes.iter().position(|&b| b == b'=') else {
            self.rest = "";
            return Some(Err(XlsxError::Unexpected("an attribute without `=`")));
        };
        let key = rest[..eq].trim_end();
        let mut open = eq + 1;
        while bytes.get(open).is_some_and(u8::is_ascii_whitespace) {
            open += 1;
        }
        let Some(&quote) = bytes.get(open).filter(|&&b| b == b'"' || b == b'\'') else {
            self.rest = "";
            return Some(Err(XlsxError::Unexpected("an attribute value without quotes")));
        };
        let body = open + 1;
        let (value, rest) = match bytes[body..].iter().position(|&b| b == quote) {
            Some(len) => (&rest[body..body + len], &rest[body + len + 1..]),
            None => (&rest[body..], ""),
        };
        self.rest = rest;
        Some(Ok((key, value)))
    }
}

/// The raw value of attribute `name`.
pub(crate) fn raw_attr<'a>(e: &'a BytesStart<'_>, name: &str) -> Result<Option<&'a str>, XlsxError> {
    for attr in RawAttrs::of(e) {
        let (key, value) = attr?;
        if key == name {
            return Ok(Some(value));
        }
    }
    Ok(None)
}

/// An attribute value with its entities resolved.
pub(crate) fn decode_attr(raw: &str) -> Result<String, XlsxError> {
    quick_xml::escape::unescape(raw)
        .map(|s| s.into_owned())
        .map_err(|e| XlsxError::Xml(quick_xml::Error::from(e)))
}

/// Appends the text an entity or character reference stands for.
pub(crate) fn push_entity(entity: &BytesRef<'_>, out: &mut String) -> Result<(), XlsxError> {
    let name: &str = entity;
    if let Some(text) = quick_xml::escape::resolve_xml_entity(name) {
        out.push_str(text);
        return Ok(());
    }
    match entity.resolve_char_ref()? {
        Some(c) => {
            out.push(c);
            Ok(())
        }
        None => Err(XlsxError::Xml(quick_xml::Error::Escape(
            quick_xml::escape::EscapeError::UnrecognizedEntity(0..0, format!("&{name};")),
        ))),
    }
}

/// A cell reference (`B7`, `$B$7` is not a cell's own reference) as zero-based
/// `(row, column)`; the column is `None` for a row-only reference (`7`).
pub(crate) fn parse_ref(reference: &str) -> Result<(u32, Option<u32>), XlsxError> {
    let bytes = reference.as_bytes();
    let mut col: u32 = 0;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if !b.is_ascii_alphabetic() {
            break;
        }
        col = col
            .checked_mul(26)
            .and_then(|c| c.checked_add(u32::from(b.to_ascii_uppercase() - b'A') + 1))
            .ok_or(XlsxError::ColumnNumberOverflow)?;
        i += 1;
    }
    let mut row: u32 = 0;
    for &b in &bytes[i..] {
        if !b.is_ascii_digit() {
            return Err(XlsxError::Alphanumeric(b));
        }
        row = row
            .checked_mul(10)
            .and_then(|r| r.checked_add(u32::from(b - b'0')))
            .ok_or(XlsxError::RowNumberOverflow)?;
    }
    let row = row.checked_sub(1).ok_or(XlsxError::RangeWithoutRowComponent)?;
    Ok((row, col.checked_sub(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats_follow_calamines_rules() {
        for (code, kind) in [
            ("DD/MM/YY", NumFmt::Date),
            ("dd.mm.yyyy hh:mm", NumFmt::Date),
            ("H:MM:SS;@", NumFmt::Date),
            ("h:mm AM/PM", NumFmt::Date),
            ("[h]:mm:ss", NumFmt::Duration),
            ("[mm]", NumFmt::Duration),
            ("[Blue]\\+[h]:mm;[Red]\\-[h]:mm", NumFmt::Duration),
            ("#,##0.00", NumFmt::Other),
            ("0.00%", NumFmt::Other),
            ("\\Y000000", NumFmt::Other),
            ("#,##0.0####\" YMD\"", NumFmt::Other),
            ("\"$\"#,##0_);[Red](\"$\"#,##0)", NumFmt::Other),
            ("[$-404]e\"\\xfc\"m\"\\xfc\"d\"\\xfc\"", NumFmt::Date),
            ("@", NumFmt::Other),
        ] {
            assert_eq!(NumFmt::of_code(code), kind, "{code}");
        }
        assert_eq!(NumFmt::built_in("14"), NumFmt::Date);
        assert_eq!(NumFmt::built_in("22"), NumFmt::Date);
        assert_eq!(NumFmt::built_in("46"), NumFmt::Duration);
        assert_eq!(NumFmt::built_in("2"), NumFmt::Other);
        assert_eq!(NumFmt::built_in("014"), NumFmt::Other);
    }

    #[test]
    fn cell_references() {
        assert_eq!(parse_ref("A1").ok(), Some((0, Some(0))));
        assert_eq!(parse_ref("XFD1048576").ok(), Some((1_048_575, Some(16_383))));
        assert_eq!(parse_ref("ab12").ok(), Some((11, Some(27))));
        assert_eq!(parse_ref("7").ok(), Some((6, None)));
        assert!(parse_ref("A").is_err());
        assert!(parse_ref("A1B").is_err());
    }
}
