//! Sign-in with the company identity provider: an OpenID Connect relying party
//! (authorization code flow with PKCE S256; `state`, `nonce` and the PKCE verifier kept in
//! the pre-sign-in session; the ID token's signature, issuer, audience, expiry and nonce
//! checked, with a 60-second clock-skew allowance; RFC 9207 `iss` checked when the provider
//! sends it). Discovery and keys are cached and fetched again when the provider signs
//! with a key the cache does not know (key rotation).
//!
//! `POST /auth/login` starts (a form post: no state changes on GET), the provider sends
//! the browser back to `GET /auth/callback`, which signs the person in and returns them to
//! the page they asked for (same-origin paths only).

use crate::config::OidcConfig;
use app::backend::services::identity::{self, IdentityClaims};
use app::backend::AppState;
use axum::extract::{Form, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClaimName, CoreClaimType,
    CoreClientAuthMethod, CoreErrorResponseType, CoreGenderClaim, CoreGrantType, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm,
    CoreResponseMode, CoreResponseType, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreSubjectIdentifierType, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    reqwest, AdditionalClaims, AdditionalProviderMetadata, AuthorizationCode,
    ClaimsVerificationError, Client, ClientId, ClientSecret, CsrfToken, EmptyExtraTokenFields,
    EndSessionUrl, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdToken, IdTokenClaims,
    IdTokenFields, IssuerUrl, LogoutRequest, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadata, RedirectUrl, Scope,
    SignatureVerificationError, StandardErrorResponse, StandardTokenResponse, TokenResponse,
    UserInfoClaims,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio::sync::RwLock;
use tower_sessions::Session;

/// Claims besides the standard ones (groups, employee id...), by name.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ExtraClaims {
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}
impl AdditionalClaims for ExtraClaims {}

/// Discovery fields the core types leave out.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct ExtraMetadata {
    #[serde(default)]
    pub end_session_endpoint: Option<EndSessionUrl>,
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}
impl AdditionalProviderMetadata for ExtraMetadata {}

type Metadata = ProviderMetadata<
    ExtraMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;
type ExtraIdTokenFields = IdTokenFields<
    ExtraClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type ExtraTokenResponse = StandardTokenResponse<ExtraIdTokenFields, CoreTokenType>;
type ExtraIdToken = IdToken<
    ExtraClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type ExtraIdTokenClaims = IdTokenClaims<ExtraClaims, CoreGenderClaim>;
type OidcClient = Client<
    ExtraClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    ExtraTokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The provider as discovered, with a client for it.
struct Provider {
    metadata: Metadata,
    client: OidcClient,
}

/// The relying party: configuration, an HTTP client that never follows redirects, and the
/// provider's discovery (fetched at the first sign-in, again on an unknown signing key).
pub struct RelyingParty {
    config: OidcConfig,
    redirect: RedirectUrl,
    post_logout: String,
    http: reqwest::Client,
    provider: RwLock<Option<Arc<Provider>>>,
}

const PENDING_KEY: &str = "oidc.pending";
use app::backend::auth::PROVIDER_LOGOUT_URL_KEY as LOGOUT_URL_KEY;
/// Accepted lateness of an ID token's expiry, for clocks that differ a little.
const CLOCK_SKEW_SECONDS: i64 = 60;

/// Kept in the pre-sign-in session between `/auth/login` and `/auth/callback`; removed
/// at the callback, so each is used once.
#[derive(Serialize, Deserialize)]
struct PendingLogin {
    state: String,
    nonce: String,
    pkce_verifier: String,
    next: String,
}

/// Why a sign-in failed; shown to the person in words, logged without secrets.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("This sign-in link is not valid for this browser session (it may be old or used). Please start again.")]
    UnknownState,
    #[error("The answer did not come from the configured identity provider.")]
    WrongIssuer,
    #[error("The identity provider refused the sign-in: {0}")]
    Provider(String),
    #[error(
        "The identity provider could not be reached or answered unexpectedly. Please try again."
    )]
    Unavailable(String),
    #[error("The identity provider's answer failed verification.")]
    Invalid(String),
    #[error("{0}")]
    Refused(String),
}

impl SignInError {
    fn status(&self) -> StatusCode {
        match self {
            SignInError::Unavailable(_) => StatusCode::BAD_GATEWAY,
            SignInError::Refused(_) => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

fn unavailable(error: impl std::fmt::Display) -> SignInError {
    SignInError::Unavailable(error.to_string())
}

pub use app::domain::navigation::safe_next;

pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    use sha2::{Digest, Sha256};
    // Comparing digests keeps the time independent of where the strings differ.
    Sha256::digest(a.as_bytes()) == Sha256::digest(b.as_bytes())
}

impl RelyingParty {
    pub fn new(config: OidcConfig, public_url: &url::Url) -> Result<Self, String> {
        let callback = public_url
            .join("/auth/callback")
            .map_err(|error| format!("cannot form the OIDC redirect URI: {error}"))?;
        let http = reqwest::ClientBuilder::new()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|error| format!("cannot build the OIDC HTTP client: {error}"))?;
        Ok(Self {
            config,
            redirect: RedirectUrl::new(callback.to_string())
                .map_err(|error| format!("invalid OIDC redirect URI: {error}"))?,
            post_logout: public_url
                .join("/sign-in")
                .map_err(|error| error.to_string())?
                .to_string(),
            http,
            provider: RwLock::new(None),
        })
    }

    async fn discover(&self) -> Result<Arc<Provider>, SignInError> {
        let issuer = IssuerUrl::new(self.config.issuer.clone()).map_err(unavailable)?;
        let metadata = Metadata::discover_async(issuer, &self.http)
            .await
            .map_err(unavailable)?;
        let client = OidcClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(self.config.client_id.clone()),
            Some(ClientSecret::new(self.config.client_secret.clone())),
        )
        .set_redirect_uri(self.redirect.clone());
        let provider = Arc::new(Provider { metadata, client });
        *self.provider.write().await = Some(provider.clone());
        Ok(provider)
    }

    async fn provider(&self) -> Result<Arc<Provider>, SignInError> {
        if let Some(provider) = self.provider.read().await.clone() {
            return Ok(provider);
        }
        self.discover().await
    }

    /// The provider's authorization URL for a new sign-in, remembered in the session.
    async fn start(&self, session: &Session, next: &str) -> Result<url::Url, SignInError> {
        let provider = self.provider().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = provider
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in &self.config.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.url();
        let pending = PendingLogin {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            next: safe_next(next),
        };
        session
            .insert(PENDING_KEY, pending)
            .await
            .map_err(unavailable)?;
        // What a visitor who is not signed in can make the server keep is bounded: a
        // pending sign-in is forgotten after ten minutes.
        session.set_expiry(Some(tower_sessions::Expiry::OnInactivity(
            time::Duration::minutes(10),
        )));
        Ok(url)
    }

    fn verify<'t>(
        client: &OidcClient,
        token: &'t ExtraIdToken,
        nonce: &Nonce,
    ) -> Result<&'t ExtraIdTokenClaims, ClaimsVerificationError> {
        let verifier = client
            .id_token_verifier()
            .set_time_fn(|| chrono::Utc::now() - chrono::TimeDelta::seconds(CLOCK_SKEW_SECONDS));
        token.claims(&verifier, nonce)
    }

    /// Checks the provider's answer and returns who signed in and where to go next.
    async fn finish(
        &self,
        session: &Session,
        answer: CallbackQuery,
    ) -> Result<(IdentityClaims, String), SignInError> {
        // One use: the pending sign-in leaves the session whatever happens next.
        let pending: PendingLogin = session
            .remove(PENDING_KEY)
            .await
            .map_err(unavailable)?
            .ok_or(SignInError::UnknownState)?;
        if !same_secret(answer.state.as_deref().unwrap_or_default(), &pending.state) {
            return Err(SignInError::UnknownState);
        }
        let provider = self.provider().await?;
        match answer.iss.as_deref() {
            Some(iss) if iss == provider.metadata.issuer().as_str() => {}
            None if !provider
                .metadata
                .additional_metadata()
                .authorization_response_iss_parameter_supported => {}
            _ => return Err(SignInError::WrongIssuer),
        }
        if let Some(error) = answer.error {
            return Err(SignInError::Provider(
                answer.error_description.unwrap_or(error),
            ));
        }
        let code = answer
            .code
            .ok_or_else(|| SignInError::Invalid("no code".into()))?;
        let tokens: ExtraTokenResponse = provider
            .client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(unavailable)?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier))
            .request_async(&self.http)
            .await
            .map_err(|error| SignInError::Provider(error.to_string()))?;
        let token = tokens
            .id_token()
            .ok_or_else(|| SignInError::Invalid("no ID token".into()))?;
        let (provider, claims) = self
            .verified_claims(provider, token, &pending.nonce)
            .await?;
        let mut identity = self.identity_from(&claims);
        if self.config.userinfo {
            let info: UserInfoClaims<ExtraClaims, CoreGenderClaim> = provider
                .client
                .user_info(
                    tokens.access_token().clone(),
                    Some(claims.subject().clone()),
                )
                .map_err(unavailable)?
                .request_async(&self.http)
                .await
                .map_err(unavailable)?;
            self.fill_from_userinfo(&mut identity, &info);
        }
        Ok((identity, pending.next))
    }

    /// The claims of an ID token whose signature, issuer, audience, expiry (with the
    /// clock-skew allowance) and nonce check out. An unknown signing key makes the
    /// provider's keys be fetched again, once (key rotation).
    async fn verified_claims(
        &self,
        provider: Arc<Provider>,
        token: &ExtraIdToken,
        nonce: &str,
    ) -> Result<(Arc<Provider>, ExtraIdTokenClaims), SignInError> {
        let nonce = Nonce::new(nonce.to_string());
        match Self::verify(&provider.client, token, &nonce) {
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                let fresh = self.discover().await?;
                let claims = Self::verify(&fresh.client, token, &nonce)
                    .map_err(|error| SignInError::Invalid(error.to_string()))?
                    .clone();
                Ok((fresh, claims))
            }
            Err(error) => Err(SignInError::Invalid(error.to_string())),
            Ok(claims) => Ok((provider.clone(), claims.clone())),
        }
    }

    /// Checks a raw ID token as the callback does (used by tests with tokens the test
    /// signs itself: another audience, another issuer, expired...).
    pub async fn check_id_token(
        &self,
        raw: &str,
        nonce: &str,
    ) -> Result<IdentityClaims, SignInError> {
        let token: ExtraIdToken = raw
            .parse()
            .map_err(|error: serde_json::Error| SignInError::Invalid(error.to_string()))?;
        let provider = self.provider().await?;
        let (_, claims) = self.verified_claims(provider, &token, nonce).await?;
        Ok(self.identity_from(&claims))
    }

    fn extra_string(extra: &ExtraClaims, name: &str) -> Option<String> {
        match extra.other.get(name)? {
            serde_json::Value::String(text) => Some(text.clone()),
            serde_json::Value::Number(number) => Some(number.to_string()),
            _ => None,
        }
    }

    fn extra_list(extra: &ExtraClaims, name: &str) -> Vec<String> {
        match extra.other.get(name) {
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_string))
                .collect(),
            Some(serde_json::Value::String(one)) => vec![one.clone()],
            _ => Vec::new(),
        }
    }

    fn identity_from(&self, claims: &ExtraIdTokenClaims) -> IdentityClaims {
        let extra = claims.additional_claims();
        let email = if self.config.claim_email == "email" {
            claims.email().map(|email| email.as_str().to_string())
        } else {
            None
        };
        let name = if self.config.claim_name == "name" {
            claims
                .name()
                .and_then(|name| name.get(None))
                .map(|name| name.as_str().to_string())
        } else {
            None
        };
        IdentityClaims {
            subject: claims.subject().as_str().to_string(),
            email: email.or_else(|| Self::extra_string(extra, &self.config.claim_email)),
            name: name.or_else(|| Self::extra_string(extra, &self.config.claim_name)),
            groups: Self::extra_list(extra, &self.config.claim_groups),
            employee_id: Self::extra_string(extra, &self.config.claim_employee_id),
            // The standard claim vouches for the standard email only.
            email_verified: self.config.claim_email == "email"
                && claims.email_verified() == Some(true),
            tenant: Self::extra_string(extra, "tid"),
            hosted_domain: Self::extra_string(extra, "hd"),
        }
    }

    fn fill_from_userinfo(
        &self,
        identity: &mut IdentityClaims,
        info: &UserInfoClaims<ExtraClaims, CoreGenderClaim>,
    ) {
        let extra = info.additional_claims();
        if identity.email.is_none() {
            identity.email = info
                .email()
                .map(|email| email.as_str().to_string())
                .or_else(|| Self::extra_string(extra, &self.config.claim_email));
            identity.email_verified = self.config.claim_email == "email"
                && info.email().is_some()
                && info.email_verified() == Some(true);
        }
        if identity.name.is_none() {
            identity.name = info
                .name()
                .and_then(|name| name.get(None))
                .map(|name| name.as_str().to_string())
                .or_else(|| Self::extra_string(extra, &self.config.claim_name));
        }
        if identity.groups.is_empty() {
            identity.groups = Self::extra_list(extra, &self.config.claim_groups);
        }
        if identity.employee_id.is_none() {
            identity.employee_id = Self::extra_string(extra, &self.config.claim_employee_id);
        }
    }

    /// The provider's sign-out URL, if the provider offers one. It names the client, not
    /// the ID token (`id_token_hint`): the URL is kept in the session row until sign-out,
    /// and an ID token has no business in the database.
    async fn logout_url(&self) -> Option<String> {
        let provider = self.provider().await.ok()?;
        let end = provider
            .metadata
            .additional_metadata()
            .end_session_endpoint
            .clone()?;
        let request = LogoutRequest::from(end)
            .set_client_id(provider.client.client_id().clone())
            .set_post_logout_redirect_uri(
                PostLogoutRedirectUrl::new(self.post_logout.clone()).ok()?,
            )
            .set_state(CsrfToken::new_random());
        Some(request.http_get_url().to_string())
    }
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    next: String,
}

/// The provider's answer (RFC 6749 4.1.2 and RFC 9207).
#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

#[derive(Clone)]
struct OidcRoutes {
    party: Arc<RelyingParty>,
    app: AppState,
}

fn failure_page(error: &SignInError) -> Response {
    tracing::warn!(reason = ?error, "OIDC sign-in refused");
    let message = html_escape(&error.to_string());
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><title>Sign-in failed · Gatehouse</title>\
         <link rel=\"stylesheet\" href=\"/pkg/gatehouse.css\"></head><body><main class=\"container error-page\">\
         <h1>Sign-in failed</h1><p role=\"alert\">{message}</p>\
         <p class=\"cluster\"><a class=\"button button-primary\" href=\"/sign-in\">Sign in again</a></p>\
         </main></body></html>"
    );
    (
        error.status(),
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn login(
    State(routes): State<OidcRoutes>,
    session: Session,
    Form(form): Form<LoginForm>,
) -> Response {
    match routes.party.start(&session, &form.next).await {
        Ok(url) => Redirect::to(url.as_str()).into_response(),
        Err(error) => failure_page(&error),
    }
}

async fn callback(
    State(routes): State<OidcRoutes>,
    session: Session,
    Query(answer): Query<CallbackQuery>,
) -> Response {
    let (claims, next) = match routes.party.finish(&session, answer).await {
        Ok(done) => done,
        Err(error) => return failure_page(&error),
    };
    let person_id =
        match identity::person_for(&routes.app, &claims, &routes.party.config.identity).await {
            Ok(id) => id,
            Err(error) => return failure_page(&SignInError::Refused(error.message)),
        };
    if let Err(error) = app::backend::auth::sign_in(&routes.app, &session, person_id, "oidc").await
    {
        return failure_page(&SignInError::Refused(error.message));
    }
    if let Some(url) = routes.party.logout_url().await {
        if session.insert(LOGOUT_URL_KEY, url).await.is_err() {
            tracing::warn!("could not remember the provider's sign-out URL");
        }
    }
    Redirect::to(&next).into_response()
}

/// The routes of OpenID Connect sign-in, when it is configured.
pub fn routes(party: Arc<RelyingParty>, app: AppState) -> Router {
    Router::new()
        .route("/auth/login", post(login))
        .route("/auth/callback", get(callback))
        .with_state(OidcRoutes { party, app })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("", "abc"));
    }
}
