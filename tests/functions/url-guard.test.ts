/** The SSRF guard of the http-json provider: private, loopback and link-local targets are refused. */
import assert from "node:assert/strict";
import { Permanent } from "../../functions/_shared/errors.ts";
import { assertPublicUrl, isPrivateAddress } from "../../functions/_shared/url-guard.ts";

Deno.test("private, loopback, link-local and multicast addresses are private", () => {
  for (const ip of ["127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1",
    "0.0.0.0", "224.0.0.1", "::1", "::", "fc00::1", "fd12::1", "fe80::1", "::ffff:127.0.0.1"]) {
    assert.ok(isPrivateAddress(ip), ip);
  }
  for (const ip of ["93.184.216.34", "8.8.8.8", "172.32.0.1", "2606:4700::1111", "::ffff:8.8.8.8"]) {
    assert.ok(!isPrivateAddress(ip), ip);
  }
});

Deno.test("the guard refuses private targets unless HTTP_JSON_ALLOW_PRIVATE says otherwise", async () => {
  for (const url of ["http://127.0.0.1:54321/", "http://169.254.169.254/latest/meta-data", "http://[::1]/", "http://localhost/"]) {
    await assert.rejects(() => assertPublicUrl(url, false), Permanent, url);
  }
  await assert.rejects(() => assertPublicUrl("file:///etc/passwd", true), /only http and https/);
  await assert.rejects(() => assertPublicUrl("not a url", false), /not a valid URL/);
  assert.equal((await assertPublicUrl("http://127.0.0.1:8080/x", true)).port, "8080");
  assert.equal((await assertPublicUrl("https://93.184.216.34/data", false)).hostname, "93.184.216.34");
});
