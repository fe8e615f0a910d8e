//! SCIM 2.0 (RFC 7643 / RFC 7644) protocol logic that needs neither HTTP nor a database.
