import { describe, expect, it } from "vitest";
import { clientHolds, etagOf } from "./etag";

const VERSION = "0b7c1f3e-2c1d-4e5f-8a9b-123456789abc";

describe("etagOf", () => {
  it("is weak, and names the version and the representation", () => {
    expect(etagOf(VERSION, "html")).toBe(`W/"${VERSION}.html"`);
    expect(etagOf(VERSION, "json")).toBe(`W/"${VERSION}.json"`);
  });
});

describe("clientHolds", () => {
  const etag = etagOf(VERSION, "html");

  it("holds for the same tag, weak or strong on either side (the weak comparison)", () => {
    expect(clientHolds(etag, etag)).toBe(true);
    expect(clientHolds(`"${VERSION}.html"`, etag)).toBe(true);
    expect(clientHolds(etag, `"${VERSION}.html"`)).toBe(true);
  });

  it("holds for `*`, and for a tag anywhere in a list", () => {
    expect(clientHolds("*", etag)).toBe(true);
    expect(clientHolds(` "other", ${etag} ,W/"third"`, etag)).toBe(true);
    expect(clientHolds(`"other",${etag}`, etag)).toBe(true);
  });

  it("does not hold without the header, for another version or the other representation", () => {
    expect(clientHolds(null, etag)).toBe(false);
    expect(clientHolds("", etag)).toBe(false);
    expect(clientHolds(`W/"another.html"`, etag)).toBe(false);
    expect(clientHolds(etagOf(VERSION, "json"), etag)).toBe(false);
    expect(clientHolds(`"other", W/"${VERSION}"`, etag)).toBe(false);
  });

  it("does not hold for a malformed member: unquoted, or with the tag as a substring", () => {
    expect(clientHolds(`${VERSION}.html`, etag)).toBe(false);
    expect(clientHolds(`W/"x${VERSION}.html"`, etag)).toBe(false);
    expect(clientHolds(`"*"`, etag)).toBe(false);
  });
});
