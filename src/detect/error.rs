//! The error of a configuration text of the detectors (detectors.conf, the numbering plan),
//! apart so that the config reader and the detectors it configures can both name it.

/// One error of a configuration text: line and column (from 1) and what is wrong.
pub type ConfigError = (usize, usize, String);
