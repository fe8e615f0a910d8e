//! Arbitrary text as a PATCH `path` (and as `sortBy`, which is parsed the same way): `Ok`
//! or a one-line `invalidPath` error, never a panic; what is accepted prints back to a
//! path that parses to the same thing.

#![no_main]

use gatehouse_domain::scim::error::{ScimError, ScimType};
use gatehouse_domain::scim::path::parse_path;
use gatehouse_domain::scim::query::{order_by, SortOrder};
use gatehouse_domain::scim::schema::SchemaKind;
use gatehouse_domain::store::Backend;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    match parse_path(&input) {
        Ok(path) => {
            let printed = path.to_string();
            assert_eq!(
                parse_path(&printed).as_ref(),
                Ok(&path),
                "{input:?} printed as {printed:?}"
            );
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
                (400, Some(ScimType::InvalidPath))
            );
        }
    }
    for kind in [SchemaKind::User, SchemaKind::Group] {
        if let Err(e) = order_by(&input, SortOrder::Ascending, kind, Backend::Postgres, 1) {
            assert_eq!(
                (e.status, e.scim_type),
                (400, Some(ScimType::InvalidValue)),
                "{input:?}"
            );
        }
    }
});
