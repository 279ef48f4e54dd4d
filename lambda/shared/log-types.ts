/**
 * Catalogue of Auth0 tenant log type codes (the `type` field of a tenant log / Log Stream record):
 * a short description, a severity level, a category and, for the few codes that mean one thing by
 * themselves, the canonical event type (docs/contract.md, "Events").
 *
 * Sources (read 2026-11-25):
 * - Auth0 "Log Type Codes", https://auth0.com/docs/deploy-monitor/logs/log-event-type-codes (its
 *   source: github.com/auth0/docs-v2 main/docs/deploy-monitor/logs/log-event-type-codes.mdx, last
 *   changed 2026-07-07): all of its 165 codes are here, with its meanings.
 * - Auth0 Tenant Log Catalog, https://auth0.com/docs/tenant-logs (one schema per code, in docs-v2
 *   main/docs/oas/tenant-logs/logs-schema.json): the codes only it documents (`fscim`, `limit_phone`,
 *   the delegated-login family `sdel`, `sdelsa`, `fdelsa`, `sdeleacft`, `fdeleacft`).
 * - Legacy codes Auth0 no longer lists but did document (the earlier "Log Event Type Codes" page,
 *   github.com/auth0/docs articles/logs/references/log-event-type-codes.md, with its Managed Private
 *   Cloud table; the Guardian log table; the Log Stream event filters): `admin_update_launch`,
 *   `sys_*`, `con`, `coff`, `du`, `fapi`, `limit_ui`, `scph`, `gd_module_switch`, `gd_user_delete`,
 *   kept so that old or replayed logs still classify. No code is here without one of these sources.
 *
 * Levels (the scale of the Auth0 logs-to-provider extensions), by these rules:
 * - 0 debug: a message sent or a link followed on the user's behalf in passwordless, email
 *   verification and password reset flows (`cs`, `cls`, `sv`, `svr`, `scpr`);
 * - 1 info: every other success, and informational records;
 * - 2 warning: warnings, notices, a limit about to be reached, a user at the authenticator cap;
 * - 3 error: every failure (and the breached-password signals);
 * - 4 critical: a limit reached, blocking an account, an IP address, a phone or MFA attempts
 *   (`limit_*`, `api_limit`, `*_rate_limit_exceed`), and `fcpro` (no login through that connector).
 * test/log-types.test.ts checks these rules over the whole table from the codes' names.
 *
 * Codes without a `type` become `log` events. `sapi` deliberately has no code-level type: the
 * ingest classifier derives one from the Management API request it records.
 */
import type { EventType, Level } from './event';

export type LogCategory =
  | 'login'
  | 'session'
  | 'logout'
  | 'signup'
  | 'password'
  | 'passwordless'
  | 'passkey'
  | 'mfa'
  | 'email'
  | 'user_management'
  | 'organization'
  | 'management_api'
  | 'token'
  | 'rate_limit'
  | 'security'
  | 'extensibility'
  | 'connector'
  | 'system'
  | 'other';

export interface LogTypeInfo {
  code: string;
  description: string;
  level: Level;
  category: LogCategory;
  /** the event type a code maps to by itself, when it does */
  type?: EventType;
}

type Row = readonly [code: string, level: Level, category: LogCategory, description: string, type?: EventType];

const ROWS: readonly Row[] = [
  // Login
  ['s', 1, 'login', 'Successful login', 'login_succeeded'],
  ['f', 3, 'login', 'Failed login', 'login_failed'],
  ['fp', 3, 'login', 'Failed login: incorrect password', 'login_failed'],
  ['fu', 3, 'login', 'Failed login: invalid email or username', 'login_failed'],
  ['fc', 3, 'login', 'Failed login reported by an AD/LDAP connector', 'login_failed'],
  ['fco', 3, 'login', "Request origin is not in the application's Allowed Origins (CORS)"],
  ['scoa', 1, 'login', 'Successful cross-origin authentication'],
  ['fcoa', 3, 'login', 'Failed cross-origin authentication'],
  ['sens', 1, 'login', 'Successful native social login exchange'],
  ['fens', 3, 'login', 'Failed native social login exchange'],
  ['scv', 1, 'login', 'Successful credential validation'],
  ['w', 2, 'login', 'Warning during login'],
  ['rich_consents_access_error', 3, 'login', 'Error accessing rich authorization consents'],
  // Delegated login (an agent acting for the user, `details.actor.sub`): Tenant Log Catalog only.
  ['sdel', 1, 'login', 'Successful delegated login'],

  // Silent authentication (an existing session checked with prompt=none)
  ['ssa', 1, 'session', 'Successful silent authentication'],
  ['fsa', 3, 'session', 'Failed silent authentication'],
  ['sdelsa', 1, 'session', 'Successful delegated silent authentication'],
  ['fdelsa', 3, 'session', 'Failed delegated silent authentication'],

  // Logout
  ['slo', 1, 'logout', 'Successful logout', 'logout'],
  ['flo', 3, 'logout', 'Failed logout'],
  // Not `logout`: Auth0 sends one back-channel logout request, and writes one of these records (it
  // names the request's `backchannel_logout_uri`), per application of a session that ended, after
  // the `slo`, password change, deletion or revocation that ended it (docs: OIDC Back-Channel
  // Logout, "How it works", and its Initiators page). Counting it would count one logout 1+N times.
  ['oidc_backchannel_logout_succeeded', 1, 'logout', 'OIDC Back-Channel Logout request delivered to an application'],
  ['oidc_backchannel_logout_failed', 3, 'logout', 'OIDC Back-Channel Logout request failed'],
  ['universal_logout_succeeded', 1, 'logout', 'Successful Universal Logout request'],
  ['universal_logout_failed', 3, 'logout', 'Failed Universal Logout request'],
  ['federated_logout_failed', 3, 'logout', 'Logout from the upstream identity provider failed'],

  // Signup
  ['ss', 1, 'signup', 'Successful signup', 'user_registered'],
  ['fs', 3, 'signup', 'Failed signup'],

  // Organizations and invitations
  ['si', 1, 'organization', 'User invitation accepted'],
  ['fi', 3, 'organization', 'Failed to accept a user invitation'],
  ['organization_member_added', 1, 'organization', 'Member added to an organization'],

  // Password
  ['scp', 1, 'password', 'Successful password change', 'password_changed'],
  ['fcp', 3, 'password', 'Failed password change'],
  ['scpr', 0, 'password', 'Password change (reset) request sent'],
  ['fcpr', 3, 'password', 'Failed password change request'],

  // Breached passwords and attack protection
  ['pwd_leak', 3, 'security', 'Login attempt with a breached password'],
  ['signup_pwd_leak', 3, 'security', 'Signup attempt with a breached password'],
  ['reset_pwd_leak', 3, 'security', 'Password reset attempt with a breached password'],
  // Brute-force protection blocks an IP address (for one account, or many), never the account itself:
  // `login_throttled`, never a session event, never `blocked` in the users table (issue 18, item 1).
  ['limit_wc', 4, 'security', 'IP address blocked from one account: too many failed logins to it (brute-force protection)', 'login_throttled'],
  ['limit_sul', 4, 'security', 'User temporarily prevented from logging in from one IP address: too many logins from it per time period', 'login_throttled'],
  ['limit_phone', 4, 'security', 'User blocked from sending more SMS or voice messages: per-period limit reached'],
  ['limit_mu', 4, 'security', 'IP address blocked: too many failed logins or signups across accounts (suspicious IP throttling)', 'login_throttled'],
  // "User block setup by anomaly detection has been released": a brute-force block, not the administrator's.
  ['ublkdu', 1, 'security', 'Login block on a user released (brute-force protection)', 'login_unthrottled'],
  ['pla', 1, 'security', 'Pre-login bot detection assessment'],
  ['acls_summary', 1, 'security', 'Summary of tenant network ACL matches over a period'],

  // Rate limits
  ['api_limit', 4, 'rate_limit', 'Rate limit of the Authentication or Management API reached'],
  ['api_limit_warning', 2, 'rate_limit', 'Rate limit of the Authentication or Management API almost reached'],
  ['limit_ui', 4, 'rate_limit', 'Too many calls to /userinfo'],
  ['limit_delegation', 4, 'rate_limit', 'Too many calls to /delegation'],
  ['appi', 1, 'rate_limit', 'API Peak Performance (temporarily elevated rate limits) activated'],

  // Passwordless
  ['cs', 0, 'passwordless', 'Passwordless login code sent'],
  ['cls', 0, 'passwordless', 'Passwordless login code or link sent'],

  // Email verification and notifications
  ['sv', 0, 'email', 'Email address verified with a verification link'],
  ['fv', 3, 'email', 'Failed to send the verification email'],
  ['svr', 0, 'email', 'Verification email requested'],
  ['fvr', 3, 'email', 'Verification email request failed'],
  ['fn', 3, 'email', 'Failed to send a notification'],
  ['wn', 2, 'email', 'Warning while sending a notification'],

  // User profile and user management
  ['sce', 1, 'user_management', 'Email address changed'],
  ['fce', 3, 'user_management', 'Failed to change email address'],
  ['scu', 1, 'user_management', 'Username changed'],
  ['fcu', 3, 'user_management', 'Failed to change username'],
  ['scpn', 1, 'user_management', 'Phone number changed'],
  ['fcpn', 3, 'user_management', 'Failed to change phone number'],
  ['sdu', 1, 'user_management', 'User deleted', 'user_deleted'],
  ['fdu', 3, 'user_management', 'Failed to delete user'],
  ['du', 1, 'user_management', 'User deleted (legacy code)'],
  ['sui', 1, 'user_management', 'Users imported'],
  ['fui', 3, 'user_management', 'Users import failed'],
  ['wum', 2, 'user_management', 'Warning during user management'],
  ['sscim', 1, 'user_management', 'SCIM provisioning operation succeeded'],
  ['fscim', 3, 'user_management', 'SCIM provisioning operation failed'],
  ['my_account_authentication_method_succeeded', 1, 'user_management', 'My Account API: authentication method operation succeeded'],
  ['my_account_authentication_method_failed', 3, 'user_management', 'My Account API: authentication method operation failed'],
  ['connected_accounts_connection_succeeded', 1, 'user_management', 'User connected a third-party account (connected accounts)'],
  ['connected_accounts_connection_failed', 3, 'user_management', 'User failed to connect a third-party account (connected accounts)'],
  ['connected_accounts_delete_succeeded', 1, 'user_management', 'User deleted a connected third-party account'],
  ['connected_accounts_delete_failed', 3, 'user_management', 'User failed to delete a connected third-party account'],
  ['directory_sync_started', 1, 'user_management', 'Inbound directory sync started'],
  ['directory_sync_completed', 1, 'user_management', 'Inbound directory sync completed'],
  ['directory_sync_failed', 3, 'user_management', 'Inbound directory sync failed'],

  // Management API
  ['sapi', 1, 'management_api', 'Successful Management API write operation'],
  ['fapi', 3, 'management_api', 'Failed Management API operation'],
  ['mgmt_api_read', 1, 'management_api', 'Management API read that returned secrets'],

  // Tokens, grants and authorization requests
  ['seacft', 1, 'token', 'Authorization code exchanged for an access token'],
  ['feacft', 3, 'token', 'Failed to exchange an authorization code for an access token'],
  ['seccft', 1, 'token', 'Client credentials exchanged for an access token'],
  ['feccft', 3, 'token', 'Failed to exchange client credentials for an access token'],
  ['sepft', 1, 'token', 'Password exchanged for an access token (password grant)'],
  ['fepft', 3, 'token', 'Failed to exchange a password for an access token'],
  ['sertft', 1, 'token', 'Refresh token exchanged for an access token'],
  ['fertft', 3, 'token', 'Failed to exchange a refresh token for an access token'],
  ['ferrt', 3, 'token', 'Rotating refresh token exchange refused (reuse detected)'],
  ['srrt', 1, 'token', 'Refresh token revoked', 'refresh_token_revoked'],
  ['seoobft', 1, 'token', 'Password and OOB challenge exchanged for an access token'],
  ['feoobft', 3, 'token', 'Failed to exchange a password and OOB challenge for an access token'],
  ['seotpft', 1, 'token', 'Password and OTP challenge exchanged for an access token'],
  ['feotpft', 3, 'token', 'Failed to exchange a password and OTP challenge for an access token'],
  ['sercft', 1, 'token', 'Password and MFA recovery code exchanged for an access token'],
  ['fercft', 3, 'token', 'Failed to exchange a password and MFA recovery code for an access token'],
  ['sepkoobft', 1, 'token', 'Passkey and OOB challenge exchanged for an access token'],
  ['sepkotpft', 1, 'token', 'Passkey and OTP challenge exchanged for an access token'],
  ['sepkrcft', 1, 'token', 'Passkey and MFA recovery code exchanged for an access token'],
  ['fepotpft', 3, 'token', 'Failed to exchange a passwordless OTP for an access token'],
  ['sede', 1, 'token', 'Device code exchanged for an access token'],
  ['fede', 3, 'token', 'Failed to exchange a device code for an access token'],
  ['fdeaz', 3, 'token', 'Device authorization request failed'],
  ['fdeac', 3, 'token', 'Device activation failed'],
  ['fdecc', 3, 'token', 'User cancelled the device confirmation'],
  ['secte', 1, 'token', 'Custom Token Exchange succeeded'],
  ['fecte', 3, 'token', 'Custom Token Exchange failed'],
  ['success_on_behalf_of_token_exchange', 1, 'token', 'On-Behalf-Of Token Exchange succeeded'],
  ['failed_on_behalf_of_token_exchange', 3, 'token', 'On-Behalf-Of Token Exchange failed'],
  ['seta', 1, 'token', 'Token exchange at Token Vault succeeded'],
  ['feta', 3, 'token', 'Token exchange at Token Vault failed'],
  ['sdeleacft', 1, 'token', 'Delegated authorization code exchanged for an access token'],
  ['fdeleacft', 3, 'token', 'Failed to exchange a delegated authorization code for an access token'],
  ['ciba_start_succeeded', 1, 'token', 'Client-Initiated Backchannel Authentication (CIBA) flow started'],
  ['ciba_start_failed', 3, 'token', 'Client-Initiated Backchannel Authentication (CIBA) flow failed to start'],
  ['ciba_exchange_succeeded', 1, 'token', 'CIBA auth_req_id exchanged for an access token'],
  ['ciba_exchange_failed', 3, 'token', 'Failed to exchange a CIBA auth_req_id for an access token'],
  ['idjag_exchange_succeeded', 1, 'token', 'Identity Assertion JWT Authorization Grant (ID-JAG) exchange succeeded'],
  ['idjag_exchange_failed', 3, 'token', 'Identity Assertion JWT Authorization Grant (ID-JAG) exchange failed'],
  ['jwt_bearer_exchange_failed', 3, 'token', 'JWT bearer grant exchange failed'],
  ['fpar', 3, 'token', 'Pushed authorization request (PAR) failed'],
  ['sd', 1, 'token', 'Delegation token issued'],
  ['fd', 3, 'token', 'Failed to issue a delegation token'],

  // Multi-factor authentication (Guardian)
  ['mfar', 1, 'mfa', 'Multi-factor authentication required for the login'],
  ['gd_start_auth', 1, 'mfa', 'MFA second factor challenge started'],
  ['gd_auth_succeed', 1, 'mfa', 'MFA second factor verified'],
  ['gd_auth_failed', 3, 'mfa', 'MFA second factor verification failed'],
  ['gd_auth_rejected', 3, 'mfa', 'MFA push notification rejected by the user'],
  ['gd_start_enroll', 1, 'mfa', 'MFA enrollment started'],
  ['gd_start_enroll_failed', 3, 'mfa', 'MFA enrollment failed to start'],
  ['gd_enrollment_complete', 1, 'mfa', 'MFA enrollment completed'],
  ['gd_unenroll', 1, 'mfa', 'MFA device unenrolled'],
  ['gd_update_device_account', 1, 'mfa', 'MFA device account updated'],
  ['gd_send_sms', 1, 'mfa', 'MFA SMS sent'],
  ['gd_send_sms_failure', 3, 'mfa', 'Failed to send an MFA SMS'],
  ['gd_send_voice', 1, 'mfa', 'MFA voice call made'],
  ['gd_send_voice_failure', 3, 'mfa', 'Failed to make an MFA voice call'],
  ['gd_send_pn', 1, 'mfa', 'MFA push notification sent'],
  ['gd_send_pn_failure', 3, 'mfa', 'Failed to send an MFA push notification'],
  ['gd_send_email', 1, 'mfa', 'MFA email sent'],
  ['gd_send_email_verification', 1, 'mfa', 'MFA email verification message sent'],
  ['gd_send_email_verification_failure', 3, 'mfa', 'Failed to send an MFA email verification message'],
  ['gd_auth_email_verification', 1, 'mfa', 'MFA email verification confirmed'],
  ['gd_auth_fail_email_verification', 3, 'mfa', 'MFA email verification failed'],
  ['gd_otp_rate_limit_exceed', 4, 'mfa', 'Too many MFA code failures or requests'],
  ['gd_recovery_succeed', 1, 'mfa', 'MFA recovery code accepted'],
  ['gd_recovery_failed', 3, 'mfa', 'MFA recovery code rejected'],
  ['gd_recovery_rate_limit_exceed', 4, 'mfa', 'Too many failed MFA recovery code attempts'],
  ['gd_webauthn_challenge_failed', 3, 'mfa', 'WebAuthn factor challenge failed in the browser'],
  ['gd_webauthn_enrollment_failed', 3, 'mfa', 'WebAuthn factor enrollment failed in the browser'],
  ['gd_tenant_update', 1, 'mfa', 'Guardian (MFA) tenant settings updated'],
  ['gd_module_switch', 1, 'mfa', 'Guardian module switched (legacy code)'],
  ['gd_user_delete', 1, 'mfa', 'Guardian user deleted (legacy code)'],
  ['too_many_records', 2, 'mfa', 'User reached the maximum number of authenticators'],

  // Passkeys
  ['passkey_challenge_started', 1, 'passkey', 'Native passkey challenge started'],
  ['passkey_challenge_failed', 3, 'passkey', 'Native passkey challenge failed'],

  // Actions, hooks, Flows and Forms
  ['actions_execution_failed', 3, 'extensibility', 'Action execution failed'],
  ['scph', 1, 'extensibility', 'Post Change Password hook succeeded'],
  ['fcph', 3, 'extensibility', 'Post Change Password hook failed'],
  ['fpurh', 3, 'extensibility', 'Post User Registration hook failed'],
  ['flows_execution_completed', 1, 'extensibility', 'Flow execution completed'],
  ['flows_execution_failed', 3, 'extensibility', 'Flow execution failed'],
  ['forms_submission_succeeded', 1, 'extensibility', 'Form submitted'],
  ['forms_submission_failed', 3, 'extensibility', 'Form submission failed'],

  // AD/LDAP connector
  ['con', 1, 'connector', 'AD/LDAP connector online'],
  ['coff', 3, 'connector', 'AD/LDAP connector offline'],
  ['fcpro', 4, 'connector', 'AD/LDAP connector provisioning failed'],

  // Tenant and platform
  ['depnote', 2, 'system', 'Deprecation notice'],
  ['acul_sdk_notice', 2, 'system', 'Advanced Customizations for Universal Login (ACUL) SDK notice'],
  ['custom_domain_verification_failed', 3, 'system', 'Custom domain verification failed'],
  ['resource_cleanup', 1, 'system', 'Resources over the defined limits cleaned up'],
  ['kms_key_management_success', 1, 'system', 'KMS key management operation succeeded'],
  ['kms_key_management_failure', 3, 'system', 'KMS key management operation failed'],
  ['kms_key_state_changed', 2, 'system', 'KMS key state changed'],
  ['ss_sso_success', 1, 'system', 'Self-Service SSO operation succeeded'],
  ['ss_sso_failure', 3, 'system', 'Self-Service SSO operation failed'],
  ['ss_sso_info', 1, 'system', 'Self-Service SSO operation information'],
  ['admin_update_launch', 1, 'system', 'Auth0 update launched (legacy code)'],
  ['sys_update_start', 1, 'system', 'Auth0 update started (legacy code)'],
  ['sys_update_end', 1, 'system', 'Auth0 update ended (legacy code)'],
  ['sys_os_update_start', 1, 'system', 'Auth0 OS update started (legacy code)'],
  ['sys_os_update_end', 1, 'system', 'Auth0 OS update ended (legacy code)'],
];

function build(rows: readonly Row[]): Readonly<Record<string, LogTypeInfo>> {
  const out: Record<string, LogTypeInfo> = Object.create(null);
  for (const [code, level, category, description, type] of rows) {
    if (Object.hasOwn(out, code)) throw new Error(`duplicate log type code: ${code}`);
    out[code] = Object.freeze<LogTypeInfo>(type ? { code, description, level, category, type } : { code, description, level, category });
  }
  return Object.freeze(out);
}

/** Every known Auth0 log type code, keyed by code. */
export const LOG_TYPES: Readonly<Record<string, LogTypeInfo>> = build(ROWS);

/** The catalogue entry of a code; unknown codes get an `other`, info-level entry (and no type). */
export function logTypeInfo(code: string): LogTypeInfo {
  if (typeof code === 'string' && Object.hasOwn(LOG_TYPES, code)) return LOG_TYPES[code];
  return { code, description: 'Unknown log type', level: 1, category: 'other' };
}
