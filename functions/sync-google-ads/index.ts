// sync-google-ads: the worker for Google Ads campaign metrics (PROVIDERS.md, Google Ads).
import { googleAds } from "../_shared/providers/google-ads.ts";
import { serveProvider } from "../_shared/worker.ts";

serveProvider(googleAds);
