//! Who is calling: principals and scopes.
//!
//! Every public operation of [`Echo`](crate::engine::Echo) takes a [`Principal`] and
//! checks it: the principal's account must own the object (enforced in the store query,
//! so another account's object answers `NotFound`) and the principal must hold the
//! operation's [`Scope`].

mod principal;

pub use principal::{Actor, Principal, Scope};
