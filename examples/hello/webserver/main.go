// Command webserver serves the example's static front end and tells the
// page where the API is.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
)

func main() {
	port := getenv("PORT", "8081")
	root := getenv("ROOT", "web")
	apiURL := getenv("API_URL", "http://127.0.0.1:8080")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /config.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprintf(w, "window.API_URL = %q;\n", apiURL)
	})
	mux.Handle("GET /", http.FileServer(http.Dir(root)))
	log.Printf("web listening on 127.0.0.1:%s", port)
	log.Fatal(http.ListenAndServe("127.0.0.1:"+port, mux))
}

func getenv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
