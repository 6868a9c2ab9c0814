-- Partner tokens: Provisioner's own signing keys and the tokens minted with them.
--
-- A signing key's private half is stored sealed (AES-256-GCM under the master
-- key, as PKCS#8 PEM); its public JWK is stored in clear for the JWKS endpoint.
-- At most one key is active (retired_at IS NULL); a retired key stays published
-- while a token it signed is unexpired.
--
-- A partner token is recorded by its id, which is also its `jti`: the token
-- itself is never stored.

CREATE TABLE signing_keys (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    kid text NOT NULL,
    algorithm text NOT NULL,
    public_jwk text NOT NULL,
    private_key_sealed bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    retired_at timestamptz,
    CONSTRAINT signing_keys_pkey PRIMARY KEY (id),
    CONSTRAINT signing_keys_kid_key UNIQUE (kid)
);

-- One active key: concurrent first starts of several processes create only one.
CREATE UNIQUE INDEX signing_keys_active_idx ON signing_keys ((retired_at IS NULL)) WHERE retired_at IS NULL;

CREATE TABLE partner_tokens (
    id uuid NOT NULL,
    organization_id uuid NOT NULL,
    name text NOT NULL,
    scopes text[] NOT NULL,
    tenants text[],
    signing_key_id uuid NOT NULL,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at timestamptz,
    CONSTRAINT partner_tokens_pkey PRIMARY KEY (id),
    CONSTRAINT partner_tokens_organization_fkey FOREIGN KEY (organization_id)
        REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT partner_tokens_signing_key_fkey FOREIGN KEY (signing_key_id)
        REFERENCES signing_keys (id),
    CONSTRAINT partner_tokens_expiry_check CHECK (expires_at > created_at)
);

CREATE INDEX partner_tokens_organization_idx ON partner_tokens (organization_id, id);
-- Which retired keys still have live tokens (JWKS publication).
CREATE INDEX partner_tokens_signing_key_idx ON partner_tokens (signing_key_id, expires_at);
