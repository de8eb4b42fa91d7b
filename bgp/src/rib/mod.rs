//! Routing information bases (issue 4, being built): today the decision
//! process that ranks paths.

pub mod decision;
