/** A tenant id, as the `tid` claim carries it and as it prefixes the tenant's objects in R2. */
export const TENANT_ID = /^[a-z0-9][a-z0-9-]{1,62}$/;
