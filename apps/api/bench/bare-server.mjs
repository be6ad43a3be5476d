// The ceiling: a bare Express 5 route that reads the body and answers 200.
import express from 'express';

const app = express();
app.post('/webhooks/:id', express.raw({ type: () => true, limit: '25mb' }), (_req, res) => {
  res.status(200).json({ success: true });
});
const server = app.listen(Number(process.env.PORT), '127.0.0.1', () => process.send?.('ready'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
