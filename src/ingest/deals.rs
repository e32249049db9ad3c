//! Reads the CRM deal export (ingest stage, beside the mail readers).
//!
//! Our own CSV layout has the columns id, name, account, contact_domains,
//! owner, stage, amount, created, close_date and outcome, but exports come
//! from Salesforce or HubSpot with their own column names, so headers are
//! matched loosely. A broken row becomes an error naming the file and row;
//! the good rows are still returned.

use std::collections::HashMap;
use std::path::Path;

use chrono::NaiveDate;

use crate::domain::{Deal, Outcome};
use crate::error::{Error, Result};

/// The deals of one export plus one error per row that could not be read.
#[derive(Debug)]
pub struct DealsFile {
    pub deals: Vec<Deal>,
    pub errors: Vec<Error>,
}

/// The fields of [`Deal`] a column can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Field {
    Id,
    Name,
    Account,
    ContactDomains,
    Owner,
    Stage,
    Amount,
    Created,
    CloseDate,
    Outcome,
}

/// Column names after [`normalize`], ours first, then CRM export names.
fn field_for(column: &str) -> Option<Field> {
    Some(match column {
        "id" | "dealid" | "opportunityid" | "recordid" => Field::Id,
        "name" | "dealname" | "opportunityname" => Field::Name,
        "account"
        | "accountname"
        | "company"
        | "companyname"
        | "associatedcompany"
        | "associatedcompanyprimary" => Field::Account,
        "contactdomains" | "contactdomain" | "domains" | "domain" | "companydomainname" => {
            Field::ContactDomains
        }
        "owner" | "opportunityowner" | "dealowner" | "ownername" | "salesagent" => Field::Owner,
        "stage" | "stagename" | "dealstage" => Field::Stage,
        "amount" | "value" | "closevalue" => Field::Amount,
        "created" | "createddate" | "createdate" | "engagedate" => Field::Created,
        "closedate" | "closed" => Field::CloseDate,
        "outcome" | "result" | "status" | "wonlost" => Field::Outcome,
        _ => return None,
    })
}

/// Lower case, letters and digits only: "Close Date", "close_date" and
/// "CloseDate" all become "closedate".
fn normalize(column: &str) -> String {
    column
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Reads a deals CSV (comma or semicolon separated, UTF-8 or, as Excel's
/// "Unicode text" saves it, UTF-16 with a byte order mark). Fails as a whole
/// only when the file cannot be read or has no id column. A second row with
/// an id already read is a row error: replacing the first deal would lose it.
pub fn read_deals(path: &Path) -> Result<DealsFile> {
    let data = decode_utf16(std::fs::read(path).map_err(|e| Error::io(path, e))?);
    let first_line = data.split(|&b| b == b'\n').next().unwrap_or_default();
    let semicolons = first_line.iter().filter(|&&b| b == b';').count();
    let commas = first_line.iter().filter(|&&b| b == b',').count();
    let delimiter = if semicolons > commas { b';' } else { b',' };

    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(data.as_slice());
    let headers = reader
        .byte_headers()
        .map_err(|e| Error::bad_input(path, format!("unreadable CSV header: {e}")))?
        .clone();

    let mut columns: HashMap<Field, usize> = HashMap::new();
    for (i, name) in headers.iter().enumerate() {
        let name = normalize(&String::from_utf8_lossy(name));
        if let Some(field) = field_for(&name) {
            columns.entry(field).or_insert(i);
        }
    }
    if !columns.contains_key(&Field::Id) {
        return Err(Error::bad_input(
            path,
            "no deal id column (expected id, Opportunity ID, Deal ID or Record ID)",
        ));
    }

    let mut deals = Vec::new();
    let mut errors = Vec::new();
    let mut first_row: HashMap<String, usize> = HashMap::new();
    for (index, record) in reader.byte_records().enumerate() {
        // Row 1 is the header, so the first data row is row 2, as a
        // spreadsheet would show it.
        let row = index + 2;
        let result = record
            .map_err(|e| e.to_string())
            .and_then(|r| deal_from_row(&r, &columns))
            .and_then(|deal| match first_row.get(&deal.id) {
                Some(first) => Err(format!("deal id {} already used in row {first}", deal.id)),
                None => Ok(deal),
            });
        match result {
            Ok(deal) => {
                first_row.insert(deal.id.clone(), row);
                deals.push(deal);
            }
            Err(reason) => errors.push(Error::BadRecord {
                path: path.to_path_buf(),
                record: format!("row {row}"),
                reason,
            }),
        }
    }
    tracing::info!(
        "read {} deals from {} ({} bad rows)",
        deals.len(),
        path.display(),
        errors.len()
    );
    Ok(DealsFile { deals, errors })
}

/// UTF-16 text (recognised by its byte order mark) as UTF-8; anything else
/// unchanged, since the CSV reader copes with UTF-8 and its mark.
fn decode_utf16(data: Vec<u8>) -> Vec<u8> {
    match encoding_rs::Encoding::for_bom(&data) {
        Some((encoding, bom_len)) if encoding != encoding_rs::UTF_8 => {
            let (text, _) = encoding.decode_without_bom_handling(&data[bom_len..]);
            text.into_owned().into_bytes()
        }
        _ => data,
    }
}

fn deal_from_row(
    record: &csv::ByteRecord,
    columns: &HashMap<Field, usize>,
) -> std::result::Result<Deal, String> {
    let get = |field: Field| -> String {
        columns
            .get(&field)
            .and_then(|&i| record.get(i))
            .map(|v| String::from_utf8_lossy(v).trim().to_string())
            .unwrap_or_default()
    };

    let id = get(Field::Id);
    if id.is_empty() {
        return Err("empty deal id".to_string());
    }
    let stage = get(Field::Stage);
    let outcome_text = get(Field::Outcome);
    let outcome = if outcome_text.is_empty() {
        // Salesforce and HubSpot say "Closed Won" in the stage column.
        Outcome::parse(&stage).unwrap_or(Outcome::Open)
    } else {
        Outcome::parse(&outcome_text)
            .ok_or_else(|| format!("outcome {outcome_text:?} is not won, lost or open"))?
    };

    Ok(Deal {
        id,
        name: get(Field::Name),
        account: get(Field::Account),
        contact_domains: parse_domains(&get(Field::ContactDomains)),
        owner: get(Field::Owner),
        stage,
        amount: parse_amount(&get(Field::Amount))?,
        created: parse_day(&get(Field::Created)).map_err(|e| format!("created: {e}"))?,
        close_date: parse_day(&get(Field::CloseDate)).map_err(|e| format!("close date: {e}"))?,
        outcome,
    })
}

/// Domains separated by semicolons, commas or spaces; a leading "@" or a
/// whole address is reduced to the domain.
fn parse_domains(text: &str) -> Vec<String> {
    text.split([';', ',', ' '])
        .map(|d| d.rsplit('@').next().unwrap_or(d).trim().to_lowercase())
        .filter(|d| !d.is_empty())
        .collect()
}

/// Amounts as exports write them: "12000", "12,000.50", "$12 000", "€9000",
/// and with a European decimal comma: "12.000,50", "1 234,5", "12,5".
/// Without a locale the last of "." and "," is the decimal mark when both
/// appear; a lone "," is a thousands mark only before exactly three digits
/// ("12,000"), and several "." are thousands marks ("1.200.000"). A lone
/// "." stays a decimal point, so "12.000" reads as 12 (US reading).
/// Currency codes and signs may stand before or after the number, never
/// inside it: "1e308" once read as 1308. Excel's "1.2E+05" is read as
/// 120000, and an amount too large for a number is an error, not infinity.
fn parse_amount(text: &str) -> std::result::Result<Option<f64>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let not_a_number = || format!("amount {text:?} is not a number");
    let number = text.trim_matches(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | ',' | '-')));
    if number.contains(['e', 'E']) {
        return match number.parse::<f64>() {
            Ok(value) => finite_amount(value, text),
            Err(_) => Err(not_a_number()),
        };
    }
    if number.chars().any(char::is_alphabetic) {
        return Err(not_a_number());
    }
    let kept: String = number
        .chars()
        .filter(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | '-'))
        .collect();
    if !kept.chars().any(|c| c.is_ascii_digit()) {
        return Err(not_a_number());
    }
    let (dot, comma) = (kept.rfind('.'), kept.rfind(','));
    let decimal_comma = match (dot, comma) {
        (Some(d), Some(c)) => c > d,
        (None, Some(c)) => kept.matches(',').count() == 1 && kept.len() - c - 1 != 3,
        _ => false,
    };
    let several_dots = kept.matches('.').count() > 1;
    let cleaned: String = if decimal_comma || several_dots {
        kept.replace('.', "").replace(',', ".")
    } else {
        kept.replace(',', "")
    };
    match cleaned.parse::<f64>() {
        Ok(value) => finite_amount(value, text),
        Err(_) => Err(not_a_number()),
    }
}

fn finite_amount(value: f64, text: &str) -> std::result::Result<Option<f64>, String> {
    if value.is_finite() {
        Ok(Some(value))
    } else {
        Err(format!("amount {text:?} is too large to be a number"))
    }
}

/// Days in the formats CRM exports use; a time after the day is ignored.
fn parse_day(text: &str) -> std::result::Result<Option<NaiveDate>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    let day_part = text.split(['T', ' ']).next().unwrap_or(text);
    for format in ["%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y", "%d.%m.%Y"] {
        if let Ok(day) = NaiveDate::parse_from_str(day_part, format) {
            return Ok(Some(day));
        }
    }
    Err(format!("{text:?} is not a date"))
}

#[cfg(test)]
mod amount_tests {
    use super::parse_amount;

    #[test]
    fn european_and_us_amounts_read_the_same_numbers() {
        let cases = [
            ("12000", 12000.0),
            ("12,000.50", 12000.5),
            ("$12 000", 12000.0),
            ("12.000,50", 12000.5),
            ("1 234,5 €", 1234.5),
            ("12,5", 12.5),
            ("1.200.000", 1_200_000.0),
            ("12,000", 12000.0),
            ("SEK 99.5", 99.5),
        ];
        for (text, want) in cases {
            assert_eq!(parse_amount(text), Ok(Some(want)), "{text}");
        }
        assert!(parse_amount("about ten").is_err());
        assert_eq!(parse_amount(" "), Ok(None));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write_csv(text: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        file
    }

    #[test]
    fn our_columns_are_read() {
        let file = write_csv(
            "id,name,account,contact_domains,owner,stage,amount,created,close_date,outcome\n\
D-1,Licenses,Kund AB,kund.example; kund.se,Anna,Negotiation,12000,2026-01-10,,open\n",
        );
        let deals = read_deals(file.path()).unwrap();
        assert!(deals.errors.is_empty(), "{:?}", deals.errors);
        let d = &deals.deals[0];
        assert_eq!(d.id, "D-1");
        assert_eq!(d.contact_domains, vec!["kund.example", "kund.se"]);
        assert_eq!(d.amount, Some(12000.0));
        assert_eq!(d.created, NaiveDate::from_ymd_opt(2026, 1, 10));
        assert_eq!(d.close_date, None);
        assert_eq!(d.outcome, Outcome::Open);
    }

    #[test]
    fn salesforce_column_names_and_closed_won_stage_are_understood() {
        let file = write_csv(
            "Opportunity ID,Opportunity Name,Account Name,Amount,Close Date,Stage,\
Opportunity Owner, Contact Domains \n\
006A,Big deal,Acme,\"$25,000.00\",03/31/2026,Closed Won,Lars,acme.example\n",
        );
        let deals = read_deals(file.path()).unwrap();
        assert!(deals.errors.is_empty(), "{:?}", deals.errors);
        let d = &deals.deals[0];
        assert_eq!(d.id, "006A");
        assert_eq!(d.name, "Big deal");
        assert_eq!(d.account, "Acme");
        assert_eq!(d.amount, Some(25000.0));
        assert_eq!(d.close_date, NaiveDate::from_ymd_opt(2026, 3, 31));
        assert_eq!(d.outcome, Outcome::Won);
        assert_eq!(d.owner, "Lars");
        assert_eq!(d.contact_domains, vec!["acme.example"]);
    }

    #[test]
    fn bad_row_is_named_and_good_rows_are_kept() {
        let file = write_csv(
            "ID;Name;Amount;Created;Outcome\n\
D-1;ok;100;2026-01-01;won\n\
D-2;bad;lots of money;2026-01-01;won\n\
D-3;ok;300;2026-01-03;lost\n",
        );
        let deals = read_deals(file.path()).unwrap();
        let ids: Vec<_> = deals.deals.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, vec!["D-1", "D-3"]);
        assert_eq!(deals.errors.len(), 1);
        let message = deals.errors[0].to_string();
        assert!(message.contains("row 3"), "{message}");
        assert!(
            message.contains(&file.path().display().to_string()),
            "{message}"
        );
        assert!(message.contains("lots of money"), "{message}");
    }

    #[test]
    fn unknown_outcome_and_bad_date_are_row_errors() {
        let file = write_csv("id,outcome,close_date\nA,maybe,\nB,won,31/31/2026\n");
        let deals = read_deals(file.path()).unwrap();
        assert!(deals.deals.is_empty());
        assert_eq!(deals.errors.len(), 2);
        assert!(deals.errors[1].to_string().contains("row 3"));
    }

    #[test]
    fn file_without_id_column_is_an_error() {
        let file = write_csv("name,amount\nx,1\n");
        let err = read_deals(file.path()).unwrap_err().to_string();
        assert!(err.contains("no deal id column"), "{err}");
    }
}
