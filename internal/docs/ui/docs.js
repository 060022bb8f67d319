// The docs page: Swagger UI renders the contract at ../openapi.json, and
// "Try it out" calls the server that serves this page, whatever prefix it
// sits under (API Gateway's stage, as in /dev/docs).
"use strict";
(function () {
  var root = document.getElementById("swagger-ui");
  // The page is at <base>/docs; the API is at <base>.
  var base = location.origin + location.pathname.replace(/\/docs\/?$/, "");

  fetch("openapi.json", { headers: { Accept: "application/json" } })
    .then(function (res) {
      if (!res.ok) {
        throw new Error("GET openapi.json answered " + res.status);
      }
      return res.json();
    })
    .then(function (spec) {
      spec.servers = [{ url: base, description: "This server" }];
      window.ui = SwaggerUIBundle({
        spec: spec,
        domNode: root,
        presets: [SwaggerUIBundle.presets.apis],
        layout: "BaseLayout",
        deepLinking: true,
        // No call to validator.swagger.io, no spec or config from the
        // query string, no API key kept in localStorage.
        validatorUrl: null,
        queryConfigEnabled: false,
        persistAuthorization: false,
      });
      // Link the contract under the title, as Swagger UI does for a spec
      // it loads itself; clients are generated from it.
      window.ui.specActions.updateUrl("openapi.json");
    })
    .catch(function (err) {
      root.textContent = "The API's contract could not be loaded: " + err.message;
      console.error(err);
    });
})();
