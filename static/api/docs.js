// Starts Swagger UI on /api/docs from the settings the page carries (no inline script).
const settings = JSON.parse(document.getElementById("swagger-settings").textContent);
window.ui = SwaggerUIBundle({ ...settings, dom_id: "#swagger-ui", presets: [SwaggerUIBundle.presets.apis] });
