// Checkout: Razorpay Checkout with keys, the local simulator without. Both end the same way:
// the signed callback fields go to /api/payments/verify, which confirms the booking.
"use strict";

(function () {
  async function confirm(fields) {
    const result = await mm.api("POST", "/api/payments/verify", fields);
    if (result.ok) {
      window.location.assign(`/dashboard?paid=${result.body.booking.id}`);
      return;
    }
    const error = document.getElementById("pay-error");
    error.textContent = (result.body.error || {}).message || "The payment could not be confirmed.";
    error.hidden = false;
  }

  document.addEventListener("DOMContentLoaded", () => {
    const simulator = document.getElementById("simulator");
    const checkout = document.getElementById("checkout");
    const button = document.getElementById("pay");
    if (!button) return;
    button.addEventListener("click", async () => {
      button.disabled = true;
      if (simulator) {
        const taken = await mm.api("POST", `/api/payments/simulator/${simulator.dataset.orderId}/pay`);
        if (taken.ok) await confirm(taken.body);
      } else if (checkout && window.Razorpay) {
        new window.Razorpay({
          key: checkout.dataset.keyId,
          order_id: checkout.dataset.orderId,
          amount: Number(checkout.dataset.amount),
          currency: "INR",
          name: "micromentor",
          handler: confirm,
        }).open();
      }
      button.disabled = false;
    });
  });
})();
