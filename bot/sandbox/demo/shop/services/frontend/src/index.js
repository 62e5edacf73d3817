// frontend: serves the shop's pages.
const http = require("http");

http
  .createServer((req, res) => {
    res.end(req.url === "/healthz" ? "ok" : "<h1>Acme Shop</h1>");
  })
  .listen(3000);
