//! API tokens and roles: generation, hashing, and who may do what. Plain Rust, no HTTP.

use std::fmt;

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::domain::FieldError;

/// What a token may do; each role includes the ones below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Reads (needed only when public reads are switched off).
    Reader,
    /// Creates and updates records.
    Editor,
    /// Manages tokens and deletes mistakes.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Self::Reader, Self::Editor, Self::Admin];

    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reader => "READER",
            Self::Editor => "EDITOR",
            Self::Admin => "ADMIN",
        }
    }

    /// Parses a role, in any case (`editor`, `EDITOR`).
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(raw))
            .ok_or_else(|| FieldError::new(field, format!("{raw:?} is not a role (READER, EDITOR, ADMIN)")))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// No token.
    Anonymous,
    /// A valid, unrevoked token.
    Token { name: String, role: Role },
    /// A token was sent but is unknown or revoked.
    Invalid,
}

impl Principal {
    /// The role, if any.
    pub fn role(&self) -> Option<Role> {
        match self {
            Self::Token { role, .. } => Some(*role),
            _ => None,
        }
    }

    /// The name the audit log records.
    pub fn name(&self) -> &str {
        match self {
            Self::Token { name, .. } => name,
            _ => "anonymous",
        }
    }
}

/// Why a request may not go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// No valid token (none, unknown or revoked).
    Unauthenticated,
    /// A valid token whose role is too low.
    Forbidden,
}

/// Checks that `principal` has at least `needed`.
pub fn require(principal: &Principal, needed: Role) -> Result<(), Denied> {
    match principal.role() {
        Some(role) if role >= needed => Ok(()),
        Some(_) => Err(Denied::Forbidden),
        None => Err(Denied::Unauthenticated),
    }
}

/// The prefix of every token, so that a leaked one is recognisable.
pub const TOKEN_PREFIX: &str = "pw_";

/// A new random token: 32 bytes from the operating system, base64url.
pub fn generate_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0_u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(format!("{TOKEN_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)))
}

/// The stored form of a token: hex SHA-256. A 256-bit random token needs no salt or slow
/// hash: it cannot be guessed, only leaked, and the hash does not leak it.
pub fn hash_token(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks a token name: what the audit log shows.
pub fn check_token_name(raw: &str) -> Result<(), FieldError> {
    crate::domain::text::check_slug("name", raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_prefixed_and_hashed() {
        let a = generate_token().unwrap();
        let b = generate_token().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() == TOKEN_PREFIX.len() + 43);
        assert_eq!(hash_token(&a).len(), 64);
        assert_ne!(hash_token(&a), hash_token(&b));
        assert_eq!(hash_token("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn roles_include_the_ones_below() {
        let editor = Principal::Token { name: "desk".into(), role: Role::Editor };
        assert_eq!(require(&editor, Role::Reader), Ok(()));
        assert_eq!(require(&editor, Role::Editor), Ok(()));
        assert_eq!(require(&editor, Role::Admin), Err(Denied::Forbidden));
        assert_eq!(require(&Principal::Anonymous, Role::Reader), Err(Denied::Unauthenticated));
        assert_eq!(require(&Principal::Invalid, Role::Reader), Err(Denied::Unauthenticated));
        assert_eq!(Role::parse("role", "editor").unwrap(), Role::Editor);
        let err = Role::parse("role", "boss").unwrap_err();
        assert_eq!(
            (err.field.as_str(), err.message.as_str()),
            ("role", "\"boss\" is not a role (READER, EDITOR, ADMIN)")
        );
    }
}
