//! The `Custom::RemoteExports` handler: the custom-resource protocol wrapped around the export lookup.
//!
//! It is generic over the two ports (where exports come from, how answers are sent), so that the
//! Lambda binary, the stack authors' CLI and the tests compose the same code with different adapters.

mod handler;
mod logging;
mod settings;

pub use handler::{Answer, HandleError, Handled, Handler};
pub use logging::init_logging;
pub use settings::Settings;
