//! The pages, in folders that mirror their URLs: `manage/catalogs/detail.rs` serves
//! `/manage/catalogs/:id`, and a folder's `mod.rs` serves the folder's own URL when it has
//! a page. Every page component has a name of its own; they are re-exported here for the
//! route table (`app.rs`).

pub mod access;
pub mod act;
pub mod approvals;
pub mod audit;
pub mod catalog;
pub mod dev;
pub mod home;
pub mod manage;
pub mod not_found;
pub mod requests;
pub mod reviews;
pub mod settings;
pub mod sign_in;

pub use access::{detail::AccessDetailPage, extend::ExtendAccessPage};
pub use act::ActionLinkPage;
pub use approvals::ApprovalsPage;
pub use audit::AuditPage;
pub use catalog::{package::RequestPackagePage, CatalogPage};
pub use dev::mail::DevMailPage;
pub use home::HomePage;
pub use manage::{
    catalogs::{detail::ManageCatalogPage, ManageCatalogsPage},
    conflicts::ConflictsPage,
    connectors::ConnectorsPage,
    mail::MailQueuePage,
    packages::{policy::PolicyPage, ManagePackagePage},
    reviews::{detail::ManageReviewPage, report::ReviewReportPage, ManageReviewsPage},
    scim::ScimPage,
    ManagePage,
};
pub use not_found::NotFound;
pub use requests::detail::RequestDetailPage;
pub use reviews::{detail::ReviewItemsPage, MyReviewsPage};
pub use settings::SettingsPage;
pub use sign_in::SignInPage;
