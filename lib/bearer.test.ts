import { describe, expect, it } from "vitest";
import { checkBearer } from "./bearer";

const TOKEN = "a-token-of-twenty-chars";

describe("checkBearer", () => {
  it("accepts the token, whatever the case of the scheme and surrounding spaces", () => {
    expect(checkBearer(`Bearer ${TOKEN}`, TOKEN)).toBe("ok");
    expect(checkBearer(`bearer ${TOKEN}`, TOKEN)).toBe("ok");
    expect(checkBearer(`  Bearer ${TOKEN} `, TOKEN)).toBe("ok");
  });

  it.each([null, undefined, "", "Bearer", "Bearer ", `Basic ${TOKEN}`, TOKEN])("calls %j missing", (header) => {
    expect(checkBearer(header, TOKEN)).toBe("missing");
  });

  it.each([`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(1)}`, "Bearer x", `Bearer ${TOKEN.toUpperCase()}`])(
    "calls %j wrong",
    (header) => {
      expect(checkBearer(header, TOKEN)).toBe("wrong");
    },
  );
});
