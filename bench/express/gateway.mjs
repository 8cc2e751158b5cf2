/**
 * The gateway of the Express stack, as the seed describes it: helmet, cors, a JSON body parser,
 * JWT verification (jsonwebtoken, ES256, issuer and audience checked), express-rate-limit with
 * SPEC's signed-in quota (600 requests per 60 s per user; its in-memory store), and
 * http-proxy-middleware to the users service, which learns the user from a header.
 * Env: USERS_URL, JWT_PUBLIC_KEY (PEM), JWT_ISSUER, JWT_AUDIENCE. Prints its port.
 */
import http from "node:http";
import cors from "cors";
import express from "express";
import rateLimit from "express-rate-limit";
import helmet from "helmet";
import { createProxyMiddleware } from "http-proxy-middleware";
import jwt from "jsonwebtoken";

const publicKey = process.env.JWT_PUBLIC_KEY;
const verifyOptions = {
  algorithms: ["ES256"],
  issuer: process.env.JWT_ISSUER,
  audience: process.env.JWT_AUDIENCE,
};

const app = express();
// The bench's clients are on loopback and name their address in X-Forwarded-For.
app.set("trust proxy", "loopback");
app.use(helmet());
app.use(cors());
app.use(express.json({ limit: "64kb" }));

function authenticate(req, res, next) {
  const header = req.get("authorization") ?? "";
  const token = header.startsWith("Bearer ") ? header.slice(7) : "";
  try {
    req.user = jwt.verify(token, publicKey, verifyOptions);
    next();
  } catch {
    res.status(401).type("application/problem+json").json({ status: 401, title: "Unauthorized" });
  }
}

const perUser = rateLimit({
  windowMs: 60_000,
  limit: 600,
  standardHeaders: "draft-8",
  legacyHeaders: false,
  keyGenerator: (req) => req.user.sub,
});

app.use("/api/users", authenticate, perUser);
app.use(
  createProxyMiddleware({
    target: process.env.USERS_URL,
    pathFilter: ["/api/users", "/.well-known/jwks.json"],
    agent: new http.Agent({ keepAlive: true }),
    on: {
      proxyReq: (proxyReq, req) => {
        proxyReq.removeHeader("x-user-id");
        if (req.user) proxyReq.setHeader("x-user-id", req.user.sub);
      },
    },
  }),
);

const server = app.listen(0, "127.0.0.1", () => {
  console.log(`listening ${server.address().port}`);
});
