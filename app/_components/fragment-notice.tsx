import type { FragmentResult } from "@/lib/fragments";

/** A result with no data to show: still working past its deadline, failed, busy, or its parameters refused. */
export type NoticeResult = Exclude<FragmentResult, { status: "ready" | "not-found" }>;

/** What a part says when its upstream found nothing: an answer, not a failure. */
export function notFoundText(what: string): string {
  return `Nothing found for ${what}.`;
}

/** Why a busy part was not looked up, as a visitor reads it. */
const BUSY = {
  "in-flight": (name: string) => `Too many lookups of ${name} are under way`,
  rate: (name: string) => `${name} is at its source's rate limit`,
  held: (name: string) => `The source of ${name} asked to wait`,
} as const;

/** What a part says when it has no data to show. */
export function noticeText(result: NoticeResult): string {
  const { name } = result;
  switch (result.status) {
    case "pending":
      return `Still working on ${name}: its data is on the way.`;
    case "error":
      return `This part (${name}) could not be loaded.`;
    case "busy":
      return `${BUSY[result.reason](name)}: try again in ${result.retryAfterSeconds} s.`;
    case "refused":
      return `This part (${name}) was not asked: ${result.message}.`;
  }
}

/** The notice as the page shows it: a status a screen reader hears politely, or an alert. */
export function FragmentNotice({ result }: { result: NoticeResult }) {
  return result.status === "pending" || result.status === "busy" ? (
    <p className={`fragment-${result.status}`} role="status">
      {noticeText(result)}
    </p>
  ) : (
    <p className="fragment-alert" role="alert">
      {noticeText(result)}
    </p>
  );
}
