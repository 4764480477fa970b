/* Files are not values a condition reads: an attachment field has none on the page. */
window.LiuzhuanLiveForm.register("attachment", {
  value: function () { return undefined; }
});
