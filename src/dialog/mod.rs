//! SIP state above single messages: transactions (request/response pairing, retransmissions)
//! and INVITE dialogs (calls). Fed in capture order by the correlator.

pub mod call;
pub mod dialogs;
pub mod media;
pub mod msg;
pub mod rtcp;
pub mod transaction;

pub use call::{CallConfig, CallInfo, CallRecord, CallStats, Calls};
pub use msg::Msg;
pub use transaction::{Seen, SipRecord, SipTx, Transactions, TxConfig, TxStats};
