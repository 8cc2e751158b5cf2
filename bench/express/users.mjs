/**
 * The users service of the Express stack: one read of SQLite (node:sqlite, synchronous, as
 * better-sqlite3 would be) per `GET /api/users/me`, the user named by the gateway's header.
 * Env: DB_PATH (the SQLite file the bench wrote), JWKS (the public keys, JSON). Prints its port.
 */
import { DatabaseSync } from "node:sqlite";
import express from "express";

const db = new DatabaseSync(process.env.DB_PATH, { readOnly: true });
const byId = db.prepare("SELECT id, email, name, role, created_at AS createdAt FROM users WHERE id = ?");
const jwks = JSON.parse(process.env.JWKS ?? '{"keys":[]}');

const app = express();
app.disable("x-powered-by");

// The runtime floor: no middleware, no I/O.
app.get("/hello", (_req, res) => {
  res.type("text/plain").send("hello");
});

app.get("/.well-known/jwks.json", (_req, res) => {
  res.set("cache-control", "public, max-age=300").json(jwks);
});

app.get("/api/users/me", (req, res) => {
  const id = req.get("x-user-id");
  const user = id ? byId.get(id) : undefined;
  if (!user) {
    res.status(404).type("application/problem+json").json({ status: 404, title: "Not Found" });
    return;
  }
  res.json(user);
});

const server = app.listen(0, "127.0.0.1", () => {
  console.log(`listening ${server.address().port}`);
});
