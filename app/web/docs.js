// Starts Swagger UI on /openapi.json (served by this service, generated from
// its route table). A separate file, not an inline script, so that a
// Content-Security-Policy of script-src 'self' can hold. No validator badge:
// it would ask a server elsewhere.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  persistAuthorization: false,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
