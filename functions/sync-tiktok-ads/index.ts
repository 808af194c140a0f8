// sync-tiktok-ads: the worker for TikTok ad metrics (PROVIDERS.md, TikTok).
import { tiktokAds } from "../_shared/providers/tiktok-ads.ts";
import { serveProvider } from "../_shared/worker.ts";

serveProvider(tiktokAds);
