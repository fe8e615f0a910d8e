//! Arbitrary text as a SCIM `filter`: the parser must answer `Ok` or a one-line
//! `invalidFilter` error, whatever it is given; what it accepts must print back to text
//! that parses to the same tree, and translate to SQL (or be refused as `invalidFilter`)
//! without panicking.

#![no_main]

use gatehouse_domain::scim::error::{ScimError, ScimType};
use gatehouse_domain::scim::filter::parse_filter;
use gatehouse_domain::scim::query::where_clause;
use gatehouse_domain::scim::schema::SchemaKind;
use gatehouse_domain::store::Backend;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The HTTP layer rejects invalid UTF-8 in the query string before the parser sees it;
    // decoding lossily keeps every input useful to the fuzzer.
    let input = String::from_utf8_lossy(data);
    match parse_filter(&input) {
        Ok(filter) => {
            let printed = filter.to_string();
            assert_eq!(
                parse_filter(&printed).as_ref(),
                Ok(&filter),
                "{input:?} printed as {printed:?}"
            );
            for kind in [SchemaKind::User, SchemaKind::Group] {
                for backend in [Backend::Sqlite, Backend::Postgres] {
                    if let Err(e) = where_clause(&filter, kind, backend, 1) {
                        assert_eq!(
                            e.scim_type,
                            Some(ScimType::InvalidFilter),
                            "{input:?}: {e:?}"
                        );
                    }
                }
            }
        }
        Err(e) => {
            assert!(
                !e.message().is_empty() && !e.message().contains('\n'),
                "{input:?}: {e}"
            );
            assert!(e.position() <= input.chars().count(), "{input:?}: {e}");
            let scim: ScimError = e.into();
            assert_eq!(
                (scim.status, scim.scim_type),
                (400, Some(ScimType::InvalidFilter))
            );
        }
    }
});
