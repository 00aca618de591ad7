//! End-to-end tests: the service on a real daprd, placement, scheduler and
//! Redis, started by the tests themselves on free ports.

mod bad_input;
mod duplicates;
mod failures;
mod local_run;
mod orders;
mod stack;
