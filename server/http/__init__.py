"""HTTP plumbing shared by every domain: routes and the OpenAPI document, errors, sessions
and CSRF, request parsing, templates, and the pages of no domain."""
