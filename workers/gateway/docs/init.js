// Starts Swagger UI on the gateway's own OpenAPI document. Kept out of the page so the CSP can
// forbid inline scripts.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  tryItOutEnabled: true,
});
