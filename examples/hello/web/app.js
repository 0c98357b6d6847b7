fetch(window.API_URL + "/api/greeting")
  .then((r) => r.json())
  .then((g) => { document.getElementById("greeting").textContent = g.greeting; })
  .catch((e) => { document.getElementById("greeting").textContent = "API unreachable: " + e; });
