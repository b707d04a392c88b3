/**
 * A PaymentProvider that loads the real one on first use. Functions that rarely call Stripe
 * (reads: only for the owner of a payment that still waits for the customer) then do not pay for
 * loading the Stripe SDK at cold start; those that call it on every request pay on the first one.
 */
import type { PaymentProvider } from "../ports.js";

type Args<K extends keyof PaymentProvider> = Parameters<PaymentProvider[K]>;

export class LazyPaymentProvider implements PaymentProvider {
  private loaded: Promise<PaymentProvider> | undefined;

  constructor(private readonly load: () => Promise<PaymentProvider>) {}

  private real(): Promise<PaymentProvider> {
    if (this.loaded === undefined) {
      const loading = this.load();
      this.loaded = loading;
      // A failed load must not stick: the next call tries again.
      loading.catch(() => {
        if (this.loaded === loading) this.loaded = undefined;
      });
    }
    return this.loaded;
  }

  async createPaymentIntent(...args: Args<"createPaymentIntent">) {
    return (await this.real()).createPaymentIntent(...args);
  }
  async clientSecret(...args: Args<"clientSecret">) {
    return (await this.real()).clientSecret(...args);
  }
  async retrieveIntent(...args: Args<"retrieveIntent">) {
    return (await this.real()).retrieveIntent(...args);
  }
  async cancelPaymentIntent(...args: Args<"cancelPaymentIntent">) {
    return (await this.real()).cancelPaymentIntent(...args);
  }
  async capturePaymentIntent(...args: Args<"capturePaymentIntent">) {
    return (await this.real()).capturePaymentIntent(...args);
  }
  async listRefunds(...args: Args<"listRefunds">) {
    return (await this.real()).listRefunds(...args);
  }
  async createRefund(...args: Args<"createRefund">) {
    return (await this.real()).createRefund(...args);
  }
}
