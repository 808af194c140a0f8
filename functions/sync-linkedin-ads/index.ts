// sync-linkedin-ads: the worker for LinkedIn ad metrics (PROVIDERS.md, LinkedIn).
import { linkedinAds } from "../_shared/providers/linkedin-ads.ts";
import { serveProvider } from "../_shared/worker.ts";

serveProvider(linkedinAds);
